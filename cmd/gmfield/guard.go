package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
)

// The guard commands: an approver's key and approvals
// (docs/format.md §11), and the whitelist a learn file holds.
func newGuardCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "guard",
		Short: "Make approver keys and approvals; print a learned whitelist",
		Example: `  gmfield guard keygen --out approver
  gmfield guard learned --file learned.jsonl`,
	}
	cmd.AddCommand(newGuardKeygenCmd(), newGuardGrantCmd(), newGuardLearnedCmd())
	return cmd
}

func newGuardKeygenCmd() *cobra.Command {
	var out, name string
	cmd := &cobra.Command{
		Use:     "keygen --out PREFIX [--name N]",
		Short:   "Make the SM2 key pair that signs approvals",
		Example: `  gmfield guard keygen --out approver --name alice`,
		Long: `Writes PREFIX.pem, a new SM2 private key (PKCS#8 PEM, mode 0600), for the approver
who runs guard grant, and PREFIX.pub.pem, its public key. It refuses to overwrite either
file. It prints the verifier key of the approver named --name (docs/format.md §11): put it
in the driver's configuration under guard: approvals: keys:.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return keygen(cmd, "guard keygen", out, name, "the approver", "the record")
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write PREFIX.pem and PREFIX.pub.pem")
	cmd.Flags().StringVar(&name, "name", guard.DefaultApprover, "the approver's key name")
	return cmd
}

func newGuardGrantCmd() *cobra.Command {
	var (
		principal, reason, keyPath, name, from string
		rules                                  []string
		dur                                    time.Duration
	)
	cmd := &cobra.Command{
		Use:     "grant --principal P --rule R [--rule R…] --for 2h --reason TEXT --key APPROVER.pem",
		Short:   "Issue an approval token that lifts guard rules for one principal for a time",
		Example: `  gmfield guard grant --principal etl --rule bulk_select --rule max_rows --for 2h --reason 'TICKET-812' --key approver.pem`,
		Long: `Prints an approval token (docs/format.md §11), signed with the approver's SM2 key,
that lifts the rules named by --rule for the principal --principal from --from (default
now) for --for. The application passes it with guard.WithApproval; the driver checks its
signature, principal and validity, and records the approval in the audit log. Rules:
whitelist, update_all, delete_all, drop, truncate, alter, bulk_select, max_rows,
statement_budget, window_budget.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case principal == "":
				return usageError{errors.New("guard grant: --principal is required")}
			case len(rules) == 0:
				return usageError{errors.New("guard grant: --rule is required")}
			case dur <= 0:
				return usageError{errors.New("guard grant: --for must be a positive duration")}
			case reason == "":
				return usageError{errors.New("guard grant: --reason is required (a ticket, the approver's reason)")}
			case keyPath == "":
				return usageError{errors.New("guard grant: --key is required")}
			}
			a := guard.Approval{Principal: principal, Reason: reason, NotBefore: time.Now()}
			if from != "" {
				t, err := time.Parse(time.RFC3339, from)
				if err != nil {
					return usageError{fmt.Errorf("guard grant: --from must be RFC 3339, such as 2026-12-03T09:00:00+08:00")}
				}
				a.NotBefore = t
			}
			a.Expires = a.NotBefore.Add(dur)
			for _, r := range rules {
				rule, err := guard.ParseRule(r)
				if err != nil {
					return usageError{fmt.Errorf("guard grant: --rule: %w", err)}
				}
				a.Rules = append(a.Rules, rule)
			}
			pem, err := os.ReadFile(keyPath)
			if err != nil {
				return fmt.Errorf("guard grant: %w", err)
			}
			key, err := crypto.ParseSM2PrivateKeyPEM(pem)
			if err != nil {
				return fmt.Errorf("guard grant: %s: %w", keyPath, err)
			}
			signer, err := audit.NewSigner(name, key)
			if err != nil {
				return usageError{fmt.Errorf("guard grant: --name: %w", err)}
			}
			tok, err := guard.Issue(a, signer)
			if err != nil {
				return usageError{fmt.Errorf("guard grant: %w", err)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			fmt.Fprintf(cmd.ErrOrStderr(), "gmfield: approval for %s, rules %v, valid %s until %s\n", principal, rules,
				a.NotBefore.UTC().Truncate(time.Second).Format(time.RFC3339), a.Expires.UTC().Truncate(time.Second).Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&principal, "principal", "", "the principal id the approval is for")
	cmd.Flags().StringArrayVar(&rules, "rule", nil, "a rule to lift (repeat for several)")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the approval lasts, such as 2h (at most the driver's approvals max_duration, default 24h)")
	cmd.Flags().StringVar(&from, "from", "", "when the approval starts, RFC 3339 (default now)")
	cmd.Flags().StringVar(&reason, "reason", "", "why: a ticket number, recorded with every use")
	cmd.Flags().StringVar(&keyPath, "key", "", "the approver's SM2 private key, PEM (PREFIX.pem of guard keygen)")
	cmd.Flags().StringVar(&name, "name", guard.DefaultApprover, "the approver's key name, as at guard keygen")
	return cmd
}

func newGuardLearnedCmd() *cobra.Command {
	var file, defaultRole string
	cmd := &cobra.Command{
		Use:     "learned --file F",
		Short:   "Print the statements a learn file holds as a whitelist (YAML)",
		Example: `  gmfield guard learned --file learned.jsonl > whitelist.yaml`,
		Long: `Reads the learn file the driver writes in whitelist: learn mode and prints, as the
roles: part of the guard: section, each role's statement fingerprints with their shape as
a comment. Review it, then paste it and set whitelist: enforce.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{errors.New("guard learned: --file is required")}
			}
			f, err := os.Open(file)
			if err != nil {
				return fmt.Errorf("guard learned: %w", err)
			}
			defer f.Close()
			learned, err := guard.ReadLearned(f)
			if err != nil {
				return fmt.Errorf("guard learned: %s: %w", file, err)
			}
			return guard.WriteWhitelist(cmd.OutOrStdout(), learned, defaultRole)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the learn file (guard.learn_file)")
	cmd.Flags().StringVar(&defaultRole, "default-role", masking.DefaultRole, "the role for statements of callers with no role")
	return cmd
}
