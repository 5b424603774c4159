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
//
// Exit status: 0 on success, 1 on an error, 2 on a usage error (an
// unknown command or flag, a malformed flag value, a missing argument).
// Log lines go to stderr, as text or JSON (--log-format, --log-level).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
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
	ctx := context.WithValue(context.Background(), stateKey{}, &runState{})
	if c, err := root.ExecuteContextC(ctx); err != nil {
		if isUsage(err) {
			msg := err.Error()
			if w := where(c); !strings.HasPrefix(msg, w) {
				msg = w + msg // name the command
			}
			if !strings.Contains(msg, "--help") {
				msg += " (see " + c.CommandPath() + " --help)"
			}
			fmt.Fprintln(stderr, "gmfield:", msg)
			return 2
		}
		fmt.Fprintln(stderr, "gmfield:", err)
		return 1
	}
	return 0
}

// usageError marks a mistake in how the command was called.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// runState is what one run of the CLI shares between its commands: the
// logger the root's persistent flags build.
type runState struct {
	log *slog.Logger
}

type stateKey struct{}

// logger returns the run's logger: --log-format and --log-level, on
// stderr. Every command that logs uses it (and hands it to the driver).
func logger(cmd *cobra.Command) *slog.Logger {
	if st, ok := cmd.Context().Value(stateKey{}).(*runState); ok && st.log != nil {
		return st.log
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
}

// jsonLogs reports whether the run logs JSON (--log-format json).
func jsonLogs(cmd *cobra.Command) bool {
	_, ok := logger(cmd).Handler().(*slog.JSONHandler)
	return ok
}

// logFlags are the root's persistent logging flags.
type logFlags struct{ format, level string }

// build makes the run's logger from the flags: a usage error for a value
// that is not one of theirs.
func (f *logFlags) build(cmd *cobra.Command) error {
	var level slog.Level
	switch strings.ToLower(f.level) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return usageError{fmt.Errorf("%s--log-level must be debug, info, warn or error, not %q (see gmfield --help)", where(cmd), f.level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(f.format) {
	case "text":
		h = slog.NewTextHandler(cmd.ErrOrStderr(), opts)
	case "json":
		h = slog.NewJSONHandler(cmd.ErrOrStderr(), opts)
	default:
		return usageError{fmt.Errorf("%s--log-format must be text or json, not %q (see gmfield --help)", where(cmd), f.format)}
	}
	if st, ok := cmd.Context().Value(stateKey{}).(*runState); ok {
		st.log = slog.New(h)
	}
	return nil
}

// loadConfig loads a driver configuration whose driver logs to the run's
// logger.
func loadConfig(cmd *cobra.Command, path string) (*sqldriver.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	cfg.Logger = logger(cmd)
	return cfg, nil
}

// where names c in a message after the "gmfield: " that run prints:
// "keys list: ", or "" for the root command.
func where(c *cobra.Command) string {
	if !c.HasParent() {
		return ""
	}
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ") + ": "
}

func newRootCmd() *cobra.Command {
	var lf logFlags
	root := &cobra.Command{
		Use:   "gmfield",
		Short: "Field-level SM4 encryption, blind indexes and masking for personal data",
		Long: `Field-level SM4 encryption, blind indexes and masking for personal data.

Exit status: 0 on success, 1 on an error, 2 on a usage error (an unknown command or
flag, a malformed flag value, a missing argument). Progress and log lines go to
stderr, as text or JSON lines (--log-format), from --log-level up.`,
		Example: `  gmfield keyring init --dir ./keys --kek sm4
  gmfield migrate --config gmfield.yaml --dsn ./app.db --log-format json 2> migrate.log`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return lf.build(cmd)
		},
	}
	root.PersistentFlags().StringVar(&lf.format, "log-format", "text", "log lines on stderr: text or json")
	root.PersistentFlags().StringVar(&lf.level, "log-level", "info", "least level logged: debug, info, warn or error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%s%w (see %s --help)", where(c), err, c.CommandPath())}
	})
	root.AddCommand(newMaskCmd(), newDetectCmd(), newKeyringCmd(), newKeysCmd(), newEncryptCmd(), newDecryptCmd(), newIndexCmd(), newPlanCmd(),
		newDDLCmd(), newMigrateCmd(), newReencryptCmd(), newVerifyCmd(), newShredCmd(), newAuditCmd(), newGuardCmd(), newScanCmd(), newExportCmd())
	// cobra adds help and completion when it runs: add them now, so that
	// refuseUnknown covers them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  gmfield help keys rotate"
			refuseUnknownTopic(c)
		case "completion":
			c.Example = "  gmfield completion bash > /etc/bash_completion.d/gmfield"
			for _, sh := range c.Commands() {
				sh.Example = "  gmfield completion " + sh.Name() + " > gmfield." + sh.Name()
			}
		}
	}
	refuseUnknown(root)
	return root
}

// refuseUnknownTopic makes help of an unknown command a usage error
// (cobra prints "Unknown help topic" and exits 0).
func refuseUnknownTopic(help *cobra.Command) {
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := c.Root().Find(args)
		if err != nil || target == nil || len(rest) > 0 {
			return usageError{fmt.Errorf("help: unknown command %q (see gmfield --help)", strings.Join(args, " "))}
		}
		show(c, args)
		return nil
	}
}

// refuseUnknown makes every command that only groups others (keys,
// keyring) fail with a usage error on an unknown or missing subcommand,
// instead of printing help and exiting 0; and every command fail with
// one on a positional argument it does not take, where cobra's own
// argument checks (of help and completion) would exit 1.
func refuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknown(c)
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil && !isUsage(err) {
				return usageError{fmt.Errorf("%s%w (see %s --help)", where(c), err, c.CommandPath())}
			} else if err != nil {
				return err
			}
			return nil
		}
	}
	if cmd.Runnable() || !cmd.HasSubCommands() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{fmt.Errorf("%sgive a subcommand (see %s --help)", where(c), c.CommandPath())}
		}
		return usageError{fmt.Errorf("%sunknown command %q (see %s --help)", where(c), args[0], c.CommandPath())}
	}
}
