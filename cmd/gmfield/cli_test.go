package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commands returns every command of the CLI's tree, the root first, as
// the arguments that name it.
func commands(t *testing.T) (out []struct {
	path []string
	cmd  *cobra.Command
}) {
	t.Helper()
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, struct {
			path []string
			cmd  *cobra.Command
		}{path, c})
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRootCmd(), nil)
	require.Greater(t, len(out), 30)
	return out
}

// oneUsageLine checks a usage error: status 2, one line on stderr that
// names the command and points to its --help, nothing on stdout.
func oneUsageLine(t *testing.T, args []string, code int, out, errOut string) {
	t.Helper()
	assert.Equal(t, 2, code, "%v: %s", args, errOut)
	assert.Empty(t, out, "%v", args)
	assert.Equal(t, 1, strings.Count(errOut, "\n"), "%v: %q", args, errOut)
	assert.True(t, strings.HasPrefix(errOut, "gmfield: "), "%v: %q", args, errOut)
	assert.Contains(t, errOut, "--help", args)
}

func TestEveryCommandRefusesUnknownFlagsAndCommands(t *testing.T) {
	t.Setenv("GMFIELD_KEYRING", "")
	t.Setenv("GMFIELD_DSN", "")
	for _, c := range commands(t) {
		name := strings.Join(c.path, " ")
		args := append(append([]string{}, c.path...), "--bogus-flag")
		code, out, errOut := gmfield(t, "", args...)
		oneUsageLine(t, args, code, out, errOut)
		assert.Contains(t, errOut, "unknown flag: --bogus-flag", args)
		if name != "" {
			assert.True(t, strings.HasPrefix(errOut, "gmfield: "+name+": "), "%v: %q", args, errOut)
		}
		assert.Contains(t, errOut, "gmfield "+strings.TrimSpace(name+" --help"), args)

		if c.cmd.HasSubCommands() {
			args := append(append([]string{}, c.path...), "bogus")
			code, out, errOut := gmfield(t, "", args...)
			oneUsageLine(t, args, code, out, errOut)
			assert.Contains(t, errOut, `unknown command "bogus"`, args)
		}

		args = append(append([]string{}, c.path...), "--help")
		code, out, errOut = gmfield(t, "", args...)
		assert.Equal(t, 0, code, "%v: %s", args, errOut)
		assert.Contains(t, out, "Usage:", args)
		assert.Contains(t, out, "--log-format", args)
	}
}

// Every runnable command shows realistic examples in its --help.
func TestEveryCommandHasAnExample(t *testing.T) {
	for _, c := range commands(t) {
		if !c.cmd.Runnable() {
			continue
		}
		name := strings.Join(c.path, " ")
		if !assert.NotEmpty(t, c.cmd.Example, "gmfield %s has no Example", name) {
			continue
		}
		// One example a line; a line ending in \ goes on.
		examples := strings.Split(strings.ReplaceAll(c.cmd.Example, "\\\n", " "), "\n")
		ran := false
		for _, ex := range examples {
			words := strings.Fields(ex)
			i := slices.Index(words, "gmfield")
			if !assert.GreaterOrEqual(t, i, 0, "gmfield %s: example %q", name, ex) {
				continue
			}
			// The command the example runs, and its flags are that command's.
			target, _, err := c.cmd.Root().Find(words[i+1:])
			if !assert.NoError(t, err, "gmfield %s: example %q", name, ex) {
				continue
			}
			ran = ran || target == c.cmd
			if target.Name() == "help" || strings.HasPrefix(target.CommandPath(), "gmfield completion") {
				continue
			}
			for _, f := range words[i+1:] {
				if flag, ok := strings.CutPrefix(f, "--"); ok {
					flag, _, _ = strings.Cut(flag, "=")
					assert.True(t, target.Flags().Lookup(flag) != nil || target.InheritedFlags().Lookup(flag) != nil,
						"gmfield %s: example %q: %s has no flag --%s", name, ex, target.CommandPath(), flag)
				}
			}
		}
		if name != "" && !c.cmd.HasSubCommands() {
			assert.True(t, ran, "gmfield %s: no example runs it", name)
		}
		_, out, _ := gmfield(t, "", append(append([]string{}, c.path...), "--help")...)
		assert.Contains(t, out, "Examples:", name)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv("GMFIELD_KEYRING", "")
	t.Setenv("GMFIELD_DSN", "")
	for _, args := range [][]string{
		{"keys", "list"},
		{"keys", "renew-index-root"},
		{"bogus"},
		{"keys", "bogus"},
		{"keyring", "bogus", "--dir", "x"},
		{"audit", "bogus"},
		{"completion", "bogus"},
		{"help", "bogus"},
		{"help", "keys", "bogus"},
		{"completion", "bash", "extra"},
		{"migrate", "--config", "x.yaml", "--dsn", "y", "--batch", "many"}, // malformed value
		{"guard", "grant", "--for", "soon"},
		{"mask", "--type"}, // a flag without its value
		{"decrypt", "--keyring", "x", "--table", "t", "--column", "c"},
		{"keys", "destroy", "--keyring", "x"},
		{"audit", "keygen"},
		{"guard", "learned"},
		{"export", "--config", "x.yaml"},
		{"scan"},
		{"plan", "SELECT 1"},
		{"keys", "rotate", "--keyring", "x", "--table", "t"},
		{"mask", "--list", "--log-format", "xml"},
		{"mask", "--list", "--log-level", "loud"},
		{"--log-format=yaml", "keys", "list", "--keyring", "x"},
	} {
		code, out, errOut := gmfield(t, "", args...)
		oneUsageLine(t, args, code, out, errOut)
		if args[0] != "bogus" && !strings.HasPrefix(args[0], "--") {
			// It names the command (the one found: help for help bogus).
			assert.True(t, strings.HasPrefix(errOut, "gmfield: "+args[0]), "%v: %q", args, errOut)
		}
	}
	code, out, _ := gmfield(t, "", "help", "keys", "rotate")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "gmfield keys rotate --config")
	code, _, errOut := gmfield(t, "", "mask", "--list", "--log-format", "xml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--log-format must be text or json")
}

// --log-format json makes every log and progress line on stderr a JSON
// object; --log-level drops the levels below it.
func TestLogFormatJSON(t *testing.T) {
	cfg, dsn := lifecycleEnv(t, 30)
	readyTables(t, cfg, dsn)
	jsonLines := func(args ...string) []map[string]any {
		t.Helper()
		code, _, errOut := gmfield(t, "", args...)
		require.Equal(t, 0, code, errOut)
		var recs []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "%v: %q is not JSON", args, line)
			assert.Contains(t, rec, "level")
			assert.Contains(t, rec, "msg")
			recs = append(recs, rec)
		}
		return recs
	}
	recs := jsonLines("migrate", "--config", cfg, "--dsn", dsn, "--log-format", "json", "--batch", "10")
	var msgs []string
	for _, r := range recs {
		msgs = append(msgs, r["msg"].(string))
	}
	assert.Contains(t, msgs, "gmfield: job done")
	assert.Contains(t, strings.Join(msgs, "\n"), "progress")
	for _, r := range recs {
		assert.NotContains(t, r, "phone", "no value in a log record")
	}
	recs = jsonLines("--log-format=json", "verify", "--config", cfg, "--dsn", dsn)
	assert.NotEmpty(t, recs)

	// Text stays the default; warn drops the info lines.
	code, _, errOut := gmfield(t, "", "verify", "--config", cfg, "--dsn", dsn)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "level=INFO")
	code, _, errOut = gmfield(t, "", "verify", "--config", cfg, "--dsn", dsn, "--log-level", "warn")
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	code, _, errOut = gmfield(t, "", "verify", "--config", cfg, "--dsn", dsn, "--log-level", "debug", "--log-format", "json")
	require.Equal(t, 0, code, errOut)
	assert.NotEmpty(t, errOut)
}

// The driver configurations the commands load log to the run's logger.
func TestConfigsGetTheLogger(t *testing.T) {
	cfgPath, _ := lifecycleEnv(t, 0)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	cmd := &cobra.Command{}
	cmd.SetContext(context.WithValue(context.Background(), stateKey{}, &runState{log: log}))
	cfg, err := loadConfig(cmd, cfgPath)
	require.NoError(t, err)
	assert.Same(t, log, cfg.Logger)
	assert.True(t, jsonLogs(cmd))
}
