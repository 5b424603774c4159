// Command gmfield is the key administrator's and auditor's tool for
// gmfield: local key directories, data-key rotation, KEK rotation and
// crypto-shredding, sealing and opening single values, blind indexes, and
// masking previews.
//
//	gmfield keyring init --dir ./keys --kek sm4
//	gmfield keys list --keyring ./keys
//	gmfield encrypt --keyring ./keys --table citizen --column phone 13800138000
//	gmfield mask --type mobile 13800138000
//	gmfield mask --type keep_first_last --param first=2 --param last=2 -
//	gmfield mask --list
//	gmfield detect 11010519491231002X
//	gmfield scan --dsn ./app.db --out report.html --propose gmfield.yaml
//	gmfield export --config gmfield.yaml --dsn ./app.db --table citizen --role clerk --csv citizen.csv
//	gmfield plan --config gmfield.yaml --dialect postgres 'SELECT name FROM citizen WHERE phone = $1'
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the CLI and returns its exit status: 0 on success, 1 on an
// error (printed to stderr), 2 on a usage error.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "gmfield:", err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks a mistake in how the command was called.
type usageError struct{ error }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gmfield",
		Short:         "Field-level SM4 encryption, blind indexes and masking for personal data",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newMaskCmd(), newDetectCmd(), newKeyringCmd(), newKeysCmd(), newEncryptCmd(), newDecryptCmd(), newIndexCmd(), newPlanCmd(),
		newDDLCmd(), newMigrateCmd(), newReencryptCmd(), newVerifyCmd(), newShredCmd(), newAuditCmd(), newGuardCmd(), newScanCmd(), newExportCmd())
	refuseUnknown(root)
	return root
}

// refuseUnknown makes every command that only groups others (keys,
// keyring) fail with a usage error on an unknown or missing subcommand,
// instead of printing help and exiting 0.
func refuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknown(c)
	}
	if cmd.Runnable() || !cmd.HasSubCommands() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{fmt.Errorf("%s: give a subcommand (see %s --help)", c.CommandPath(), c.CommandPath())}
		}
		return usageError{fmt.Errorf("%s: unknown command %q (see %s --help)", c.CommandPath(), args[0], c.CommandPath())}
	}
}
