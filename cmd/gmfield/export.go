package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

func newExportCmd() *cobra.Command {
	var (
		f                                      jobFlags
		roles, columns, ruleSpecs              []string
		principal, reason, tenant, maskKeyEnv  string
		csvPath, toDSN, toDialect, toTable, to string
		replace                                bool
	)
	cmd := &cobra.Command{
		Use:   "export --config FILE --dsn SRC --table T (--csv FILE | --to-dsn DST [--to-table T2]) [--role R] [--rule col=func[:k=v,…]]… [--reason TEXT]",
		Short: "Copy a protected table, masked, into another database or a CSV file (静态脱敏)",
		Long: `Streams a protected table through the gmfield driver as the principal --principal
with roles --role, so that the policy decides each column (plain, mask, hash, null;
a denied column is refused), into a table of another database (created with text
columns when it does not exist) or a CSV file. Blind-index columns are not exported.

--rule col=func[:k=v,…] overrides the policy for a column with a masking function
(gmfield mask --list): the column is read in plain through a column grant naming
--reason, which the audit log records, and the function is applied before the value
leaves. pseudonym (type id_card, mobile, bank_card or uscc) gives the same
pseudonym, with valid check digits, for the same value in every table and run with
the same key ($GMFIELD_MASK_KEY, --mask-key-env), so joins still work; date:to=month
and address_region generalize. A value a rule would leave unchanged is masked
entirely. The export resumes after the last batch written when interrupted; a
finished table target is refused unless --replace.`,
		Example: `  gmfield export --config gmfield.yaml --dsn "$SRC" --table citizen --role clerk --csv citizen.csv
  gmfield export --config gmfield.yaml --dsn "$SRC" --table citizen --to-dsn 'root@tcp(test-db)/copy' \
    --rule id_no=pseudonym:type=id_card --rule phone=pseudonym:type=mobile --rule birth=date:to=month \
    --rule address=address_region --reason 'TICKET-812: data for the test environment'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.table == "" {
				return usageError{fmt.Errorf("export: --table is required")}
			}
			if f.dsn == "" {
				return usageError{fmt.Errorf("export: --dsn is required (or set GMFIELD_DSN)")}
			}
			if (csvPath == "") == (toDSN == "") {
				return usageError{fmt.Errorf("export: give one of --csv FILE and --to-dsn DSN")}
			}
			s, err := f.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.close()
			opts, err := maskKey("export", os.Getenv(maskKeyEnv))
			if err != nil {
				return err
			}
			rules := map[string]*masking.Rule{}
			for _, spec := range ruleSpecs {
				col, r, err := parseRuleSpec(spec, opts)
				if err != nil {
					return err
				}
				rules[col] = r
			}
			src, err := sqldriver.Open(driverFor(s.dialect), waitingDSN(s.dialect, f.dsn), s.cfg)
			if err != nil {
				return err
			}
			if src, err = pinged(cmd, src); err != nil {
				return err
			}
			defer src.Close()
			var sink lifecycle.Sink
			if csvPath != "" {
				sink, to = lifecycle.NewCSVSink(csvPath), csvPath
			} else {
				if toDialect == "" {
					toDialect = guessDialect(toDSN)
				}
				if driverFor(toDialect) == "" {
					return usageError{fmt.Errorf("export: --to-dialect must be sqlite, postgres or mysql")}
				}
				dst, err := openPlain(cmd, toDialect, toDSN)
				if err != nil {
					return err
				}
				defer dst.Close()
				if toTable == "" {
					toTable = strings.ToLower(f.table)
				}
				sink, to = lifecycle.NewTableSink(dst, toDialect, "", toTable, replace), toTable
			}
			x := &lifecycle.Export{Source: src, Config: s.cfg, Dialect: s.dialect, Table: f.table, Columns: columns,
				Principal: masking.Principal{ID: principal, Roles: roles}, Tenant: tenant, Rules: rules, Reason: reason,
				To: sink, Batch: f.batch}
			x.Progress, x.Log = progress(cmd, "export "+f.table)
			sum, err := x.Run(cmd.Context())
			if f.jsonOut && err == nil {
				return writeJSON(cmd.OutOrStdout(), sum)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export %s → %s: %d rows, %d values masked by rules (%d masked entirely), resumed %v, %s\n",
				sum.Table, to, sum.Changed, sum.Values, sum.Skipped, sum.Resumed, sum.Elapsed.Round(1e6))
			return nil
		},
	}
	f.add(cmd, false)
	fl := cmd.Flags()
	fl.StringSliceVar(&roles, "role", nil, "the roles the export reads as (default: the policy's default role)")
	fl.StringVar(&principal, "principal", "gmfield-export", "the principal id the audit log records")
	fl.StringArrayVar(&ruleSpecs, "rule", nil, "col=func[:k=v,…]: mask a column with this function instead of the policy (repeatable)")
	fl.StringVar(&reason, "reason", "", "why the rules' columns are read in plain (required with --rule; audited)")
	fl.StringSliceVar(&columns, "columns", nil, "the columns to export (default: all but blind indexes)")
	fl.StringVar(&tenant, "tenant", "", "the tenant to export (key_scope tenant)")
	fl.StringVar(&maskKeyEnv, "mask-key-env", "GMFIELD_MASK_KEY", "environment variable holding the key (hex) of pseudonym and hash rules")
	fl.StringVar(&csvPath, "csv", "", "write a CSV file")
	fl.StringVar(&toDSN, "to-dsn", "", "write a table of this database")
	fl.StringVar(&toDialect, "to-dialect", "", "the target's dialect (default: guessed from --to-dsn)")
	fl.StringVar(&toTable, "to-table", "", "the target table (default: the source table's name)")
	fl.BoolVar(&replace, "replace", false, "delete the target table's rows first when it holds a finished export")
	return cmd
}

// parseRuleSpec reads col=func[:k=v,…].
func parseRuleSpec(spec string, opts []masking.Option) (string, *masking.Rule, error) {
	col, fn, ok := strings.Cut(spec, "=")
	col = strings.ToLower(strings.TrimSpace(col))
	if !ok || col == "" || fn == "" {
		return "", nil, usageError{fmt.Errorf("export: --rule %q is not col=func[:k=v,…]", spec)}
	}
	name, params, _ := strings.Cut(fn, ":")
	var kvs []string
	if params != "" {
		kvs = strings.Split(params, ",")
	}
	p, err := parseParams("export: --rule "+col+": parameter", kvs)
	if err != nil {
		return "", nil, err
	}
	r, err := masking.NewRule(name, p, opts...)
	if err != nil {
		return "", nil, usageError{fmt.Errorf("export: --rule %s: %w", col, err)}
	}
	return col, r, nil
}
