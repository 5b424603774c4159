package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers mysql
	_ "github.com/jackc/pgx/v5/stdlib" // registers pgx
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	_ "modernc.org/sqlite" // registers sqlite

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// jobFlags are the flags the lifecycle commands share.
type jobFlags struct {
	config, dsn, dialect, table string
	batch, workers              int
	dryRun, jsonOut             bool
}

func (f *jobFlags) add(cmd *cobra.Command, dryRun bool) {
	cmd.Flags().StringVar(&f.config, "config", "", "driver configuration (docs/config.md)")
	cmd.Flags().StringVar(&f.dsn, "dsn", os.Getenv("GMFIELD_DSN"), "database: postgres://…, user@tcp(host)/db (MySQL) or an SQLite file (default $GMFIELD_DSN)")
	cmd.Flags().StringVar(&f.dialect, "dialect", "", "sqlite, postgres or mysql (default: the configuration's, or guessed from the DSN)")
	cmd.Flags().StringVar(&f.table, "table", "", "protected table (default: every table of the configuration)")
	cmd.Flags().IntVar(&f.batch, "batch", 1000, "rows per batch")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "sealing goroutines (default: one per core)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the summary as JSON")
	if dryRun {
		cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "report what would change, writing nothing")
	}
}

// session is a loaded configuration and an open database.
type session struct {
	cfg     *sqldriver.Config
	db      *sql.DB
	dialect string
	tables  []string
}

// open loads the configuration, opens the plain database and picks the
// tables; needDB false allows no --dsn (ddl).
func (f *jobFlags) open(cmd *cobra.Command, needDB bool) (*session, error) {
	if f.config == "" {
		return nil, usageError{fmt.Errorf("%s: --config is required", cmd.Name())}
	}
	if needDB && f.dsn == "" {
		return nil, usageError{fmt.Errorf("%s: --dsn is required (or set GMFIELD_DSN)", cmd.Name())}
	}
	cfg, err := loadConfig(cmd, f.config)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, dialect: f.dialect}
	if s.dialect == "" && cfg.Dialect != nil {
		s.dialect = cfg.Dialect.Name()
	}
	if s.dialect == "" && f.dsn != "" {
		s.dialect = guessDialect(f.dsn)
	}
	if driverFor(s.dialect) == "" {
		return nil, usageError{fmt.Errorf("%s: --dialect must be sqlite, postgres or mysql", cmd.Name())}
	}
	for _, t := range cfg.Tables {
		if f.table == "" || strings.EqualFold(t.Name, f.table) {
			s.tables = append(s.tables, t.Name)
		}
	}
	if len(s.tables) == 0 {
		return nil, usageError{fmt.Errorf("%s: table %q is not in %s", cmd.Name(), f.table, f.config)}
	}
	if f.dsn != "" {
		if s.db, err = openPlain(cmd, s.dialect, f.dsn); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// driverFor is the database/sql driver of a dialect, "" for none.
func driverFor(dialect string) string {
	return map[string]string{"postgres": "pgx", "postgresql": "pgx", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}[dialect]
}

// openPlain opens and pings a plain (unwrapped) handle of dsn; SQLite
// waits for the application's writes instead of failing busy.
func openPlain(cmd *cobra.Command, dialect, dsn string) (*sql.DB, error) {
	db, err := sql.Open(driverFor(dialect), waitingDSN(dialect, dsn))
	if err != nil {
		return nil, err
	}
	return pinged(cmd, db)
}

// waitingDSN is dsn, for SQLite with a busy timeout.
func waitingDSN(dialect, dsn string) string {
	if driverFor(dialect) == "sqlite" && !strings.Contains(dsn, "busy_timeout") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "_pragma=busy_timeout(10000)"
	}
	return dsn
}

// pinged returns db once it answers, or closes it.
func pinged(cmd *cobra.Command, db *sql.DB) (*sql.DB, error) {
	if err := db.PingContext(cmd.Context()); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: connecting: %w", cmd.Name(), err)
	}
	return db, nil
}

func (s *session) close() {
	if s.db != nil {
		s.db.Close()
	}
}

func guessDialect(dsn string) string {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"), strings.Contains(dsn, "host="):
		return "postgres"
	case strings.Contains(dsn, "@tcp("), strings.Contains(dsn, "@unix("):
		return "mysql"
	}
	return "sqlite"
}

// job returns the job of one table, with progress on stderr: a bar on a
// terminal, log lines otherwise.
func (f *jobFlags) job(cmd *cobra.Command, s *session, table string) *lifecycle.Job {
	j := &lifecycle.Job{DB: s.db, Config: s.cfg, Dialect: s.dialect, Table: table, Batch: f.batch, Workers: f.workers, DryRun: f.dryRun}
	j.Progress, j.Log = progress(cmd, cmd.Name()+" "+table)
	return j
}

// progress is a job's progress on stderr: a bar on a terminal (unless
// --log-format json); otherwise log lines of the run's logger, and that
// logger for the job's own lines (nil with a bar).
func progress(cmd *cobra.Command, name string) (lifecycle.Progress, *slog.Logger) {
	if isTerminal(cmd.ErrOrStderr()) && !jsonLogs(cmd) {
		return &barProgress{w: cmd.ErrOrStderr(), name: name}, nil
	}
	log := logger(cmd)
	return &lifecycle.LogProgress{Log: log, Name: name}, log
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// barProgress is a progress bar with rows/s and the time left.
type barProgress struct {
	w    io.Writer
	name string
	unit string // what is counted (default rows)
	bar  *progressbar.ProgressBar
}

func (p *barProgress) Start(total, done int64) {
	if p.unit == "" {
		p.unit = "rows"
	}
	p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.name),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString(p.unit),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }))
	_ = p.bar.Add64(done)
}
func (p *barProgress) Add(n int64) { _ = p.bar.Add64(n) }
func (p *barProgress) Finish()     { _ = p.bar.Finish() }

// printSummaries prints what jobs did: a line each, or JSON.
func printSummaries(cmd *cobra.Command, f *jobFlags, sums []lifecycle.Summary) error {
	if f.jsonOut {
		return writeJSON(cmd.OutOrStdout(), sums)
	}
	for _, s := range sums {
		verb := "changed"
		if s.DryRun {
			verb = "would change"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s: scanned %d rows, %s %d (%d values), skipped %d, retried %d, failed %d, %s\n",
			s.Job, s.Table, s.Scanned, verb, s.Changed, s.Values, s.Skipped, s.Retried, s.Failed, s.Elapsed.Round(time.Millisecond))
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// eachTable runs one job per table of s and prints the summaries, also
// those of the jobs done before one failed.
func eachTable(cmd *cobra.Command, f *jobFlags, run func(j *lifecycle.Job) (lifecycle.Summary, error)) error {
	s, err := f.open(cmd, true)
	if err != nil {
		return err
	}
	defer s.close()
	var sums []lifecycle.Summary
	for _, t := range s.tables {
		sum, err := run(f.job(cmd, s, t))
		sums = append(sums, sum)
		if err != nil {
			_ = printSummaries(cmd, f, sums)
			return err
		}
	}
	return printSummaries(cmd, f, sums)
}

func newDDLCmd() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "ddl --config FILE --dialect postgres|mysql|sqlite [--table T] [--dsn DSN]",
		Short: "Print the ALTER TABLE statements that ready protected tables for gmfield",
		Example: `  gmfield ddl --config gmfield.yaml --dialect postgres
  gmfield ddl --config gmfield.yaml --dsn ./app.db --table citizen`,
		Long: `Prints the statements a protected table needs: each protected column widened to
hold its largest envelope (from max_len in the configuration, or an unbounded type),
and each blind-index column added with an index. With --dsn it reads the live schema
and prints only what is missing, so applying its output twice changes nothing.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd, false)
			if err != nil {
				return err
			}
			defer s.close()
			stmts, err := lifecycle.DDL(cmd.Context(), s.db, s.cfg, s.dialect, f.table)
			if err != nil {
				return err
			}
			if f.jsonOut {
				return writeJSON(cmd.OutOrStdout(), append([]string{}, stmts...))
			}
			if len(stmts) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "gmfield: nothing to change")
			}
			for _, st := range stmts {
				fmt.Fprintln(cmd.OutOrStdout(), st+";")
			}
			return nil
		},
	}
	f.add(cmd, false)
	return cmd
}

func newMigrateCmd() *cobra.Command {
	var f jobFlags
	cmd := &cobra.Command{
		Use:   "migrate --config FILE --dsn DSN [--table T] [--dry-run]",
		Short: "Seal the plaintext values of protected columns in place and fill their blind indexes",
		Example: `  gmfield migrate --config gmfield.yaml --dsn ./app.db --dry-run
  gmfield migrate --config gmfield.yaml --dsn "$GMFIELD_DSN" --table citizen --batch 500 --log-format json`,
		Long: `Seals every plaintext value of the protected columns, online: each batch is written
with a compare-and-set on the values read, so rows the application changes meanwhile are
read again, never overwritten. Progress is checkpointed in gmfield_jobs: after a crash,
run it again to resume. Sealed values are left alone, so a rerun is a no-op.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return eachTable(cmd, &f, func(j *lifecycle.Job) (lifecycle.Summary, error) { return j.Migrate(cmd.Context()) })
		},
	}
	f.add(cmd, true)
	return cmd
}

func newReencryptCmd() *cobra.Command {
	var f jobFlags
	var sel lifecycle.Selection
	var older bool
	cmd := &cobra.Command{
		Use:   "reencrypt --config FILE --dsn DSN [--table T] (--key-id K | --older-than-current) [--reindex] [--dry-run]",
		Short: "Re-seal values under the current data key of their keyspace",
		Example: `  gmfield reencrypt --config gmfield.yaml --dsn ./app.db --older-than-current
  gmfield reencrypt --config gmfield.yaml --dsn ./app.db --key-id k7f0ee3826b15771c --dry-run`,
		Long: `Re-seals, under the current DEK, the values sealed under DEK K (--key-id) or under any
DEK that is not the current one of its keyspace (--older-than-current, after keys rotate).
Blind indexes are kept, unless --reindex (after keys renew-index-root) recomputes them.
Online, resumable and checkpointed like migrate. A value that fails to open stops it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (sel.KeyID != "" && older) || (sel.KeyID == "" && !older && !sel.Reindex) {
				return usageError{errors.New("reencrypt: give --key-id K or --older-than-current")}
			}
			return eachTable(cmd, &f, func(j *lifecycle.Job) (lifecycle.Summary, error) { return j.Reencrypt(cmd.Context(), sel) })
		},
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&sel.KeyID, "key-id", "", "re-seal the values of this DEK")
	cmd.Flags().BoolVar(&older, "older-than-current", false, "re-seal the values of every DEK that is not its keyspace's current one")
	cmd.Flags().BoolVar(&sel.Reindex, "reindex", false, "recompute the blind indexes (after renew-index-root)")
	return cmd
}

func newVerifyCmd() *cobra.Command {
	var f jobFlags
	var sample int
	cmd := &cobra.Command{
		Use:   "verify --config FILE --dsn DSN [--table T] [--sample N] [--json]",
		Short: "Open every stored value and report its state; exit 1 on any failure",
		Example: `  gmfield verify --config gmfield.yaml --dsn ./app.db
  gmfield verify --config gmfield.yaml --dsn ./app.db --table citizen --sample 1000 --json > evidence.json`,
		Long: `Opens every protected value (or about N sampled rows) and checks its blind indexes,
and reports, per column, the values that are NULL, plaintext, sealed (per DEK id),
opened, failing to open and with a stale index, and the row keys of the failures. It
writes nothing. It exits with status 1 when a value fails, an index is stale or
plaintext remains: the evaluator's evidence (--json is documented in docs/lifecycle.md).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd, true)
			if err != nil {
				return err
			}
			defer s.close()
			var reps []*lifecycle.Report
			ok := true
			for _, t := range s.tables {
				rep, err := f.job(cmd, s, t).Verify(cmd.Context(), sample)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
				ok = ok && rep.OK()
			}
			if f.jsonOut {
				if err := writeJSON(cmd.OutOrStdout(), reps); err != nil {
					return err
				}
			} else {
				printReports(cmd.OutOrStdout(), reps)
			}
			if !ok {
				return errors.New("verify: some values fail, have a stale index or are plaintext")
			}
			return nil
		},
	}
	f.add(cmd, false)
	cmd.Flags().IntVar(&sample, "sample", 0, "verify about N random rows instead of all")
	return cmd
}

func printReports(w io.Writer, reps []*lifecycle.Report) {
	for _, r := range reps {
		state := "OK"
		if !r.OK() {
			state = "FAILED"
		}
		fmt.Fprintf(w, "%s: %d rows, %s (%s)\n", r.Table, r.Rows, state, r.Elapsed.Round(time.Millisecond))
		for _, c := range r.Columns {
			fmt.Fprintf(w, "  %s: sealed %d, opened %d, failed %d, stale index %d, plaintext %d, null %d\n",
				c.Column, c.Sealed, c.Opened, c.Failed, c.IndexMismatch, c.Plaintext, c.Null)
			for _, k := range sortedKeys(c.Keys) {
				fmt.Fprintf(w, "    key %s: %d\n", k, c.Keys[k])
			}
		}
		for _, fl := range r.Failures {
			fmt.Fprintf(w, "  failure: %s row %s: %s\n", fl.Column, fl.RowKey, fl.Reason)
		}
		if r.Truncated {
			fmt.Fprintf(w, "  (more failures; the first %d are listed)\n", lifecycle.MaxFailures)
		}
	}
}

func newShredCmd() *cobra.Command {
	var f jobFlags
	var target lifecycle.ShredTarget
	var yes bool
	cmd := &cobra.Command{
		Use:   "shred --config FILE --dsn DSN (--tenant T | --key-id K) [--table T] [--yes] [--dry-run]",
		Short: "Destroy a tenant's (or one DEK's) keys and NULL the values and blind indexes they covered",
		Example: `  gmfield shred --config gmfield.yaml --dsn ./app.db --tenant acme --dry-run
  gmfield shred --config gmfield.yaml --dsn ./app.db --key-id k7f0ee3826b15771c --yes`,
		Long: `Destroys the data keys of tenant T (key scope tenant, with its blind-index roots), or
the DEK K, then sets the protected values they sealed and their blind indexes to NULL in
every table of the configuration (or --table), so that the shredded data can be neither
read nor found by equality search. Asks to type the tenant (or key id) unless --yes.
Keys go first: an interrupted shred has made the values unreadable already, and a rerun
clears the rest.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (target.Tenant == "") == (target.KeyID == "") {
				return usageError{errors.New("shred: give --tenant or --key-id")}
			}
			what := target.Tenant + target.KeyID
			if !yes && !f.dryRun {
				if err := confirm(cmd, what, "Shredding "+what+" destroys its keys and clears its values in the database, for good."); err != nil {
					return fmt.Errorf("shred: %w; nothing changed", err)
				}
			}
			// Every table is checked before the first Shred destroys keys.
			checked, destroyed := false, false
			return eachTable(cmd, &f, func(j *lifecycle.Job) (lifecycle.Summary, error) {
				if !checked {
					checked = true
					if err := checkShred(cmd, &f, target); err != nil {
						return lifecycle.Summary{Job: "shred", Table: j.Table}, err
					}
				}
				if destroyed || j.DryRun {
					return j.ShredRows(cmd.Context(), target)
				}
				destroyed = true
				return j.Shred(cmd.Context(), target)
			})
		},
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&target.Tenant, "tenant", "", "shred this tenant (key scope tenant, tables with tenant_column)")
	cmd.Flags().StringVar(&target.KeyID, "key-id", "", "shred the values of this DEK")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	return cmd
}

// checkShred runs lifecycle.Job.CheckShred on every table of the flags.
func checkShred(cmd *cobra.Command, f *jobFlags, target lifecycle.ShredTarget) error {
	s, err := f.open(cmd, true)
	if err != nil {
		return err
	}
	defer s.close()
	for _, t := range s.tables {
		if err := f.job(cmd, s, t).CheckShred(cmd.Context(), target); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
