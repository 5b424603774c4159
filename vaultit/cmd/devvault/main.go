// Command devvault runs a throwaway Vault on loopback to try gmfield's
// Vault KEKs with: Vault 1.13's in-process test cluster (MPL-2.0), in
// memory, with Transit at transit/, KV v2 at kv2/ and AppRole at
// approle/. It prints the environment that points gmfield (and the vault
// CLI, curl, …) at it, root token included, and runs until SIGINT or
// SIGTERM; then it stops and removes its directory. Everything it held is
// gone: never keep real data under its keys.
//
// It lives in the nested module vaultit, so from the repository's root:
//
//	go run -C vaultit ./cmd/devvault [-dir DIR] [-port N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/gmfield/gmfield/vaultit/devserver"
	"github.com/hashicorp/go-hclog"
	gotesting "github.com/mitchellh/go-testing-interface"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// EnvFile is the name of the file in the server's directory that holds
// the export lines, for other shells to source.
const EnvFile = "env.sh"

const usage = `usage: devvault [-dir DIR] [-port N] [-log-level LEVEL]

Runs a throwaway Vault (1.13, in memory) on 127.0.0.1 with Transit at transit/,
KV v2 at kv2/ and AppRole at approle/, for trying gmfield's vault-transit and
vault-kv KEKs. Prints export lines for VAULT_ADDR, VAULT_TOKEN (the root token
of this throwaway server, printed on purpose) and VAULT_CACERT, and writes them
to DIR/env.sh too. Runs until Ctrl-C (SIGINT) or SIGTERM, then stops and removes
DIR: every key in it is gone. Never use it for real data.

From the repository's root: go run -C vaultit ./cmd/devvault

Flags:
`

// run runs devvault until ctx ends, and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devvault", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	dir := fs.String("dir", "", "directory for the CA certificate, env.sh and the server's keys; must not exist or be empty; removed at exit (default: a new one in $TMPDIR)")
	port := fs.Int("port", 0, "loopback port to listen on (default: a free one)")
	level := fs.String("log-level", "error", "Vault's log level on stderr: trace, debug, info, warn, error or off")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "devvault: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	lvl := hclog.LevelFromString(*level)
	if lvl == hclog.NoLevel {
		fmt.Fprintf(stderr, "devvault: -log-level %q: want trace, debug, info, warn, error or off\n", *level)
		return 2
	}
	created := *dir == ""
	if created {
		d, err := os.MkdirTemp("", "devvault-")
		if err != nil {
			fmt.Fprintln(stderr, "devvault:", err)
			return 1
		}
		*dir = d
	} else {
		abs, err := filepath.Abs(*dir)
		if err != nil {
			fmt.Fprintln(stderr, "devvault:", err)
			return 1
		}
		*dir = abs
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: lvl, Output: stderr})

	s, err := start(devserver.Options{Dir: *dir, Port: *port, Logger: logger})
	if err != nil {
		if created {
			os.RemoveAll(*dir)
		}
		fmt.Fprintln(stderr, "devvault:", err)
		return 1
	}
	defer func() {
		s.Close()
		fmt.Fprintf(stderr, "devvault: stopped; removed %s\n", s.Dir())
	}()

	exports := fmt.Sprintf("export VAULT_ADDR=%s\nexport VAULT_TOKEN=%s\nexport VAULT_CACERT=%s\n",
		shellQuote(s.Addr()), shellQuote(s.Token()), shellQuote(s.CACert()))
	env := filepath.Join(s.Dir(), EnvFile)
	if err := os.WriteFile(env, []byte(exports), 0o600); err != nil {
		fmt.Fprintln(stderr, "devvault:", err)
		return 1
	}
	fmt.Fprintf(stdout, `# devvault: a throwaway Vault 1.13, in memory, at %s
# Transit at transit/, KV v2 at kv2/, AppRole at approle/
# VAULT_TOKEN is its root token, printed on purpose: this server is for trying gmfield only
%s# these lines are also in %s; Ctrl-C stops the server and removes %s
# next, in another shell: . %s && gmfield keyring init --dir ./keys --kek vault-transit
`, s.Addr(), exports, shellQuote(env), shellQuote(s.Dir()), shellQuote(env))

	<-ctx.Done()
	fmt.Fprintln(stderr, "devvault: stopping")
	return 0
}

// start starts the server; the test cluster panics (through RuntimeT)
// when it cannot start, which start returns as an error.
func start(opts devserver.Options) (s *devserver.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("vault did not start (see its log above): %v", r)
		}
	}()
	return devserver.Start(&gotesting.RuntimeT{}, opts)
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote quotes s for a POSIX shell, if it needs it.
func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
