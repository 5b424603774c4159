package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/scan"
	"github.com/gmfield/gmfield/sqldriver/config"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

func newScanCmd() *cobra.Command {
	var (
		dsn, dialect, out, format, propose, keysDir string
		opts                                        scan.Options
	)
	cmd := &cobra.Command{
		Use:   "scan --dsn DSN [--dialect postgres|mysql|sqlite] [--schema S] [--sample 1000] [--out report.md|.html|.json] [--propose gmfield.yaml]",
		Short: "Find and grade the personal information of a database (数据分类分级)",
		Long: `Reads the catalog and a random sample of every table (in read-only transactions,
with a plain connection), classifies each column from its values and its name, and
grades it: personal or sensitive personal information (PIPL art. 28) and a level of
GB/T 43697-2024 (docs/classification.md). The report (Markdown, HTML or JSON, by the
extension of --out or by --format) shows masked examples only. --propose writes a
gmfield configuration that protects what was found, and beside it the statements
gmfield ddl would print for it (FILE.ddl.sql).`,
		Example: `  gmfield scan --dsn 'postgres://app@db/gov' --schema public --out report.html
  gmfield scan --dsn ./app.db --propose gmfield.yaml --format json > report.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dsn == "" {
				return usageError{fmt.Errorf("scan: --dsn is required (or set GMFIELD_DSN)")}
			}
			if dialect == "" {
				dialect = guessDialect(dsn)
			}
			if driverFor(dialect) == "" {
				return usageError{fmt.Errorf("scan: --dialect must be sqlite, postgres or mysql")}
			}
			if format == "" {
				format = map[string]string{".html": "html", ".htm": "html", ".json": "json"}[strings.ToLower(filepath.Ext(out))]
				if format == "" {
					format = "md"
				}
			}
			write := map[string]func(*scan.Report, io.Writer) error{"md": (*scan.Report).WriteMarkdown, "markdown": (*scan.Report).WriteMarkdown,
				"html": (*scan.Report).WriteHTML, "json": (*scan.Report).WriteJSON}[format]
			if write == nil {
				return usageError{fmt.Errorf("scan: --format must be md, html or json")}
			}
			if driverFor(dialect) == "sqlite" && !strings.HasPrefix(dsn, "file:") {
				if _, err := os.Stat(dsn); err != nil {
					return fmt.Errorf("scan: %w", err) // opening would create an empty database
				}
			}
			db, err := openPlain(cmd, dialect, dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			opts.Dialect = dialect
			stderr := cmd.ErrOrStderr()
			if isTerminal(stderr) && !jsonLogs(cmd) {
				opts.Progress = &barProgress{w: stderr, name: "scan", unit: "tables"}
			} else {
				opts.Log = logger(cmd)
			}
			rep, err := scan.Scan(cmd.Context(), db, opts)
			if err != nil {
				return err
			}
			if err := writeTo(cmd, out, func(w io.Writer) error { return write(rep, w) }); err != nil {
				return err
			}
			s := rep.Summary
			fmt.Fprintf(stderr, "gmfield: scanned %d tables, %d columns: %d personal, %d sensitive, %d important candidates, %d to review\n",
				s.Tables, s.Columns, s.Personal, s.Sensitive, s.Important, s.Review)
			if propose == "" {
				return nil
			}
			return writeProposal(cmd.Context(), cmd, rep, db, propose, keysDir)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dsn, "dsn", os.Getenv("GMFIELD_DSN"), "database: postgres://…, user@tcp(host)/db (MySQL) or an SQLite file (default $GMFIELD_DSN)")
	fl.StringVar(&dialect, "dialect", "", "sqlite, postgres or mysql (default: guessed from the DSN)")
	fl.StringVar(&opts.Schema, "schema", "", "PostgreSQL schema or MySQL database (default: the connection's)")
	fl.StringSliceVar(&opts.Tables, "table", nil, "scan only these tables (repeat or separate with commas)")
	fl.IntVar(&opts.Sample, "sample", 1000, "rows sampled per table")
	fl.StringVar(&out, "out", "", "write the report to this file (default stdout)")
	fl.StringVar(&format, "format", "", "md, html or json (default: from --out's extension, else md)")
	fl.StringVar(&propose, "propose", "", "write a gmfield configuration protecting what was found, and FILE.ddl.sql")
	fl.StringVar(&keysDir, "keyring-dir", "./keys", "the key directory the proposed configuration names")
	fl.Int64Var(&opts.Grading.SensitiveRows, "sensitive-rows", 1_000_000, "rows of sensitive personal information that make a table a candidate for important data")
	fl.Int64Var(&opts.Grading.PersonalRows, "personal-rows", 10_000_000, "rows of personal information that make a table a candidate for important data")
	return cmd
}

// writeTo writes to the file path through a temporary file renamed into
// place, or to stdout for "" or "-".
func writeTo(cmd *cobra.Command, path string, f func(io.Writer) error) error {
	if path == "" || path == "-" {
		return f(cmd.OutOrStdout())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := f(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeProposal writes the proposed configuration and, beside it, the
// statements gmfield ddl prints for it against the scanned database. The
// statements are computed with a throwaway key directory: they do not
// depend on keys.
func writeProposal(ctx context.Context, cmd *cobra.Command, rep *scan.Report, db *sql.DB, path, keysDir string) error {
	if err := writeTo(cmd, path, func(w io.Writer) error { _, err := w.Write(scan.Propose(rep, keysDir)); return err }); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gmfield-propose-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := local.Init(ctx, filepath.Join(tmp, "keys"), local.KEKConfig{Kind: "sm4"}); err != nil {
		return err
	}
	cfg, err := config.Parse(scan.Propose(rep, filepath.Join(tmp, "keys")), tmp)
	if err != nil {
		return fmt.Errorf("scan: the proposed configuration does not load: %w", err)
	}
	cfg.Logger = logger(cmd)
	var stmts []string
	for _, t := range cfg.Tables {
		ss, err := lifecycle.DDL(ctx, db, cfg, rep.Dialect, t.Name)
		if err != nil {
			return err
		}
		stmts = append(stmts, ss...)
	}
	ddl := strings.TrimSuffix(path, filepath.Ext(path)) + ".ddl.sql"
	if err := writeTo(cmd, ddl, func(w io.Writer) error {
		fmt.Fprintf(w, "-- gmfield ddl for %s: widens the protected columns and adds the blind-index columns.\n", filepath.Base(path))
		for _, st := range stmts {
			if _, err := fmt.Fprintln(w, st+";"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "gmfield: wrote %s (%d tables) and %s (%d statements); next: gmfield keyring init --dir %s --kek sm4\n",
		path, len(cfg.Tables), ddl, len(stmts), keysDir)
	return nil
}
