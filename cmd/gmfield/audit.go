package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
)

// The audit commands: keys for a tamper-evident audit log, and the
// auditor's verification, inclusion proofs and queries
// (docs/format.md §9).
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Make the audit log's key; verify, prove and query an audit log",
		Example: `  gmfield audit keygen --out audit
  gmfield audit verify --log ./audit --pubkey audit.pub.pem`,
	}
	cmd.AddCommand(newAuditKeygenCmd(), newAuditVerifyCmd(), newAuditProveCmd(), newAuditQueryCmd())
	return cmd
}

// auditSource are the flags that name a stored log: a directory, or a
// table of a database.
type auditSource struct {
	dir, dsn, dialect, table string
}

func (s *auditSource) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.dir, "log", "", "the log's directory (audit.dir)")
	cmd.Flags().StringVar(&s.dsn, "dsn", os.Getenv("GMFIELD_DSN"), "or the database holding the log: postgres://…, user@tcp(host)/db (MySQL) or an SQLite file (default $GMFIELD_DSN)")
	cmd.Flags().StringVar(&s.dialect, "dialect", "", "with --dsn: sqlite, postgres or mysql (default: guessed from the DSN)")
	cmd.Flags().StringVar(&s.table, "log-table", "gmfield_audit", "with --dsn: the log's table (audit.table); its checkpoints are in <table>_checkpoint")
}

// open returns the log's Source and a function that releases it.
func (s *auditSource) open(cmd *cobra.Command) (audit.Source, func(), error) {
	name := "audit " + cmd.Name()
	if s.dir != "" {
		if cmd.Flags().Changed("dsn") {
			return nil, nil, usageError{fmt.Errorf("%s: give --log or --dsn, not both", name)}
		}
		if st, err := os.Stat(s.dir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		} else if !st.IsDir() {
			return nil, nil, fmt.Errorf("%s: %s is not a directory", name, s.dir)
		}
		return audit.DirSource(s.dir), func() {}, nil
	}
	if s.dsn == "" {
		return nil, nil, usageError{fmt.Errorf("%s: give --log DIR or --dsn DSN (or set GMFIELD_DSN)", name)}
	}
	dialect := s.dialect
	if dialect == "" {
		dialect = guessDialect(s.dsn)
	}
	if driverFor(dialect) == "" {
		return nil, nil, usageError{fmt.Errorf("%s: --dialect must be sqlite, postgres or mysql", name)}
	}
	if driverFor(dialect) == "sqlite" {
		// Opening a missing file would create an empty database.
		path, _, _ := strings.Cut(strings.TrimPrefix(s.dsn, "file:"), "?")
		if path != "" && path != ":memory:" {
			if _, err := os.Stat(path); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	db, err := openPlain(cmd, dialect, s.dsn)
	if err != nil {
		return nil, nil, err
	}
	src, err := audit.TableSource(audit.Table{DB: db, Dialect: dialect, Name: s.table})
	if err != nil {
		db.Close()
		if errors.Is(err, audit.ErrInvalid) {
			return nil, nil, usageError{fmt.Errorf("%s: %w", name, err)}
		}
		return nil, nil, err
	}
	return src, func() { db.Close() }, nil
}

// auditKey are the flags that name the log's public key.
type auditKey struct {
	pubkey, origin string
}

func (k *auditKey) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&k.pubkey, "pubkey", "", "the log's SM2 public key, PEM (PREFIX.pub.pem of audit keygen)")
	cmd.Flags().StringVar(&k.origin, "origin", audit.DefaultOrigin, "the log's name in its checkpoints (audit.origin)")
}

func (k *auditKey) verifier(cmd *cobra.Command) (note.Verifier, error) {
	if k.pubkey == "" {
		return nil, usageError{errors.New("audit " + cmd.Name() + ": --pubkey is required")}
	}
	raw, err := os.ReadFile(k.pubkey)
	if err != nil {
		return nil, err
	}
	pub, err := crypto.ParseSM2PublicKeyPEM(raw)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %s: %w", cmd.Name(), k.pubkey, err)
	}
	v, err := audit.NewVerifier(k.origin, pub)
	if err != nil {
		return nil, usageError{fmt.Errorf("audit %s: --origin: %w", cmd.Name(), err)}
	}
	return v, nil
}

func newAuditKeygenCmd() *cobra.Command {
	var out, origin string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX [--origin O]",
		Short: "Make the SM2 key pair that signs an audit log's checkpoints",
		Example: `  gmfield audit keygen --out /etc/gmfield/audit
  gmfield audit keygen --out audit --origin gov.example/citizen-db`,
		Long: `Writes PREFIX.pem, a new SM2 private key (PKCS#8 PEM, mode 0600), for the application
that writes the log (audit.key), and PREFIX.pub.pem, its public key, for auditors
(audit verify --pubkey). It refuses to overwrite either file. It prints the verifier key
of the log named --origin (docs/format.md §9.3), for tools that take note keys as text.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return keygen(cmd, "audit keygen", out, origin, "the application that writes the log", "auditors")
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write PREFIX.pem and PREFIX.pub.pem")
	cmd.Flags().StringVar(&origin, "origin", audit.DefaultOrigin, "the log's name in its checkpoints (audit.origin), for the verifier key")
	return cmd
}

// keygen writes PREFIX.pem, a new SM2 private key for owner, and
// PREFIX.pub.pem, its public key for readers, and prints the verifier key
// of name: the one key-making rule of audit keygen and guard keygen.
func keygen(cmd *cobra.Command, what, out, name, owner, readers string) error {
	if out == "" {
		return usageError{fmt.Errorf("%s: --out is required", what)}
	}
	k, err := crypto.GenerateSM2Key()
	if err != nil {
		return err
	}
	vkey, err := audit.VerifierKey(name, k.Public())
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", what, err)}
	}
	priv, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	pub, err := k.Public().MarshalPEM()
	if err != nil {
		return err
	}
	privPath, pubPath := out+".pem", out+".pub.pem"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s: %s already exists; not overwriting it", what, p)
		}
	}
	if err := writeNew(privPath, priv, 0o600); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := writeNew(pubPath, pub, 0o644); err != nil {
		_ = os.Remove(privPath)
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), vkey)
	fmt.Fprintf(cmd.ErrOrStderr(), "gmfield: wrote %s (the private key: only %s needs it) and %s (the public key, for %s)\n", privPath, owner, pubPath, readers)
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; not overwriting it", name)
		}
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
	}
	return err
}

func newAuditVerifyCmd() *cobra.Command {
	var src auditSource
	var key auditKey
	var kept []string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "verify (--log DIR | --dsn DSN [--dialect D] [--log-table T]) --pubkey KEY.pub.pem [--origin O] [--checkpoint FILE ...] [--json]",
		Short: "Verify an audit log against its signed checkpoints; exit 1 if it does not verify",
		Example: `  gmfield audit verify --log ./audit --pubkey audit.pub.pem
  gmfield audit verify --dsn ./app.db --pubkey audit.pub.pem --checkpoint kept.note --json`,
		Long: `Recomputes the log's Merkle tree from its leaves and checks every stored checkpoint, and
every checkpoint given with --checkpoint (ones the auditor kept from earlier runs, such as
copies of DIR/checkpoint), as docs/format.md §9.5 says: the signatures, the root at each
size, that each checkpoint is consistent with the earlier ones, that leaf k says it is leaf
k, and that the log is not shorter than a checkpoint. It prints the leaves read, the
checkpoints checked and the latest signed size, then "ok" or the problem (edit, deletion,
insertion, reordering, truncation, unreadable leaf, bad checkpoint, inconsistent
checkpoints), the first index where it was found and what was found; for an edit, the
leaves it is among. A log with no checkpoint does not verify: nothing signs it. Leaves
after the latest checkpoint are counted but not yet signed. It exits with status 1 when the
log does not verify. --json prints the report as one object: ok, leaves, checkpoints,
latest, unsigned, and for a failure problem, index, until (an edit's end) and detail.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := key.verifier(cmd)
			if err != nil {
				return err
			}
			var notes [][]byte
			for _, p := range kept {
				raw, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("audit verify: --checkpoint: %w", err)
				}
				notes = append(notes, raw)
			}
			s, done, err := src.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			rep, err := audit.Verify(cmd.Context(), s, v, notes...)
			if err != nil {
				return err
			}
			if jsonOut {
				res := struct {
					OK bool `json:"ok"`
					*audit.Report
					Unsigned uint64 `json:"unsigned"`
				}{rep.OK(), rep, rep.Unsigned()}
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				fmt.Fprint(cmd.OutOrStdout(), rep)
			}
			if !rep.OK() {
				return fmt.Errorf("audit verify: the log does not verify: %s at index %d", rep.Problem, rep.Index)
			}
			return nil
		},
	}
	src.add(cmd)
	key.add(cmd)
	cmd.Flags().StringArrayVar(&kept, "checkpoint", nil, "a checkpoint kept earlier (a signed note file); repeatable")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the report as JSON")
	return cmd
}

func newAuditProveCmd() *cobra.Command {
	var src auditSource
	var key auditKey
	var index, size uint64
	cmd := &cobra.Command{
		Use:   "prove --index N [--size S] (--log DIR | --dsn DSN [--dialect D] [--log-table T]) --pubkey KEY.pub.pem [--origin O]",
		Short: "Print the inclusion proof of one event in a signed checkpoint",
		Example: `  gmfield audit prove --index 41 --log ./audit --pubkey audit.pub.pem
  gmfield audit prove --index 41 --size 1000 --dsn ./app.db --pubkey audit.pub.pem`,
		Long: `Prints, as indented JSON, the proof that leaf N is in the tree signed by the stored
checkpoint of size S (default: the latest), checked before it is printed
(docs/format.md §9.6): index, size, leaf (as stored), leaf_hash (hex), proof (hex hashes,
in the order of RFC 9162 §2.1.3.1) and checkpoint (the signed note). A third party checks
it with the public key alone: the checkpoint's signature, SM3(0x00 ‖ leaf) = leaf_hash,
and the proof folded up to the checkpoint's root.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("index") {
				return usageError{errors.New("audit prove: --index is required")}
			}
			v, err := key.verifier(cmd)
			if err != nil {
				return err
			}
			s, done, err := src.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			p, err := audit.Prove(cmd.Context(), s, v, index, size)
			if err != nil {
				return fmt.Errorf("audit prove: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(p)
		},
	}
	src.add(cmd)
	key.add(cmd)
	cmd.Flags().Uint64Var(&index, "index", 0, "the leaf (event) index to prove")
	cmd.Flags().Uint64Var(&size, "size", 0, "the size of the checkpoint to prove it in (default: the latest)")
	return cmd
}

// eventJSON is an event as audit query --json prints it: the members of
// its leaf (docs/format.md §9.1) after "v".
type eventJSON struct {
	Index       uint64         `json:"i"`
	Time        string         `json:"t"`
	Instance    string         `json:"instance"`
	Principal   string         `json:"principal"`
	Roles       []string       `json:"roles"`
	Grants      []audit.Grant  `json:"grants,omitempty"`
	Kind        string         `json:"kind"`
	Fingerprint string         `json:"fp,omitempty"`
	Shape       string         `json:"shape,omitempty"`
	Tables      []string       `json:"tables"`
	Columns     []audit.Column `json:"columns"`
	Rows        int64          `json:"rows"`
	Decrypted   int64          `json:"decrypted"`
	Outcome     audit.Outcome  `json:"outcome"`
	Reason      string         `json:"reason,omitempty"`
	Rule        string         `json:"rule,omitempty"`
}

const auditTime = "2006-01-02T15:04:05.000000Z"

func newEventJSON(e *audit.Event) eventJSON {
	out := eventJSON{Index: e.Index, Time: e.Time.UTC().Format(auditTime), Instance: e.Instance, Principal: e.Principal,
		Roles: e.Roles, Grants: e.Grants, Kind: e.Kind, Fingerprint: e.Fingerprint, Shape: e.Shape, Tables: e.Tables,
		Columns: e.Columns, Rows: e.Rows, Decrypted: e.Decrypted, Outcome: e.Outcome, Reason: e.Reason, Rule: e.Rule}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if out.Tables == nil {
		out.Tables = []string{}
	}
	if out.Columns == nil {
		out.Columns = []audit.Column{}
	}
	return out
}

// parseWhen reads a --since or --until: a date (midnight UTC) or an
// RFC 3339 time.
func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageError{fmt.Errorf("audit query: --%s %q: give a date (2026-01-02) or an RFC 3339 time (2026-01-02T15:04:05+08:00)", flag, s)}
}

// queryFlush is how many rows the text table aligns at a time, so that
// a long query streams.
const queryFlush = 1000

func newAuditQueryCmd() *cobra.Command {
	var src auditSource
	var f audit.Filter
	var since, until string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "query (--log DIR | --dsn DSN [--dialect D] [--log-table T]) [--principal P] [--column table.column] [--table T] [--since WHEN] [--until WHEN] [--json]",
		Short: "List the events of an audit log that match a filter",
		Example: `  gmfield audit query --log ./audit --principal alice --since 2026-01-02
  gmfield audit query --dsn ./app.db --column citizen.phone --json`,
		Long: `Prints the events of the log, in order, that match every filter given: the caller
(--principal), a protected column touched (--column table.column), a protected table
touched (--table), and the time: at or after --since, before --until (a date, taken as
midnight UTC, or an RFC 3339 time). The default output is a table: index, time (UTC),
principal, roles, kind, columns (table.column:action), rows, decrypted and outcome (with
its reason), aligned a thousand rows at a time. --json prints one JSON object per line,
with the members of the leaf (docs/format.md §9.1). It reads the leaves as stored: run
audit verify first to know the checkpoints sign them.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.Since, err = parseWhen("since", since); err != nil {
				return err
			}
			if f.Until, err = parseWhen("until", until); err != nil {
				return err
			}
			if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
				return usageError{errors.New("audit query: --since must be before --until")}
			}
			s, done, err := src.open(cmd)
			if err != nil {
				return err
			}
			defer done()
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetEscapeHTML(false)
				return audit.Query(cmd.Context(), s, f, func(e *audit.Event) error { return enc.Encode(newEventJSON(e)) })
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			header := "INDEX\tTIME\tPRINCIPAL\tROLES\tKIND\tCOLUMNS\tROWS\tDECRYPTED\tOUTCOME"
			fmt.Fprintln(w, header)
			n := 0
			err = audit.Query(cmd.Context(), s, f, func(e *audit.Event) error {
				printEvent(w, e)
				if n++; n%queryFlush == 0 {
					return w.Flush()
				}
				return nil
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
	src.add(cmd)
	cmd.Flags().StringVar(&f.Principal, "principal", "", "only the events of this caller (Principal.ID)")
	cmd.Flags().StringVar(&f.Column, "column", "", "only the events that touched this protected column (table.column)")
	cmd.Flags().StringVar(&f.Table, "table", "", "only the events that touched this protected table")
	cmd.Flags().StringVar(&since, "since", "", "only the events at or after this time (2026-01-02 or RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only the events before this time (2026-01-02 or RFC 3339)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print one JSON object per event and line")
	return cmd
}

func printEvent(w io.Writer, e *audit.Event) {
	cols := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		cols[i] = c.Column + ":" + c.Action
	}
	outcome := string(e.Outcome)
	if e.Reason != "" {
		outcome += " (" + e.Reason + ")"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", e.Index, e.Time.UTC().Format(auditTime), dash(cell(e.Principal)),
		dash(cell(strings.Join(e.Roles, ","))), dash(cell(e.Kind)), dash(cell(strings.Join(cols, ","))), e.Rows, e.Decrypted, cell(outcome))
}

// cell keeps a table cell on its line and in its column: tabs and line
// breaks (which a principal or role might hold) are shown escaped.
func cell(s string) string {
	if !strings.ContainsAny(s, "\t\n\r\v\f") {
		return s
	}
	return strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`, "\v", `\v`, "\f", `\f`).Replace(s)
}
