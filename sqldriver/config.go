package sqldriver

import (
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"regexp"
	"strings"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// Form is how a protected column stores its envelope.
type Form int

const (
	// FormText stores the text form "gmf2:…" (text and varchar columns).
	FormText Form = iota
	// FormBinary stores the binary envelope (bytea, BLOB, VARBINARY).
	FormBinary
)

// OnError is what a read does with a stored value that fails to open.
type OnError int

const (
	// ErrorFail fails the read with an error wrapping ErrOpen.
	ErrorFail OnError = iota
	// ErrorNull reads the value as NULL (never as the stored bytes).
	ErrorNull
)

// Index is a blind index of a protected column, kept in a sibling column
// (hex text of Size bytes, so CHAR(2*Size)).
type Index struct {
	Column    string
	Transform crypto.Transform
	Size      int // bytes; 0 means crypto.DefaultIndexSize
}

// Column is a protected column.
type Column struct {
	Name    string
	Form    Form
	Indexes []Index
	OnError OnError
	// Migrating marks a column whose table is being brought under
	// gmfield (docs/lifecycle.md): reads take a stored value that is not an
	// envelope as plaintext (masking still applies), writes seal, and an
	// equality search matches either form. Without it, plaintext in a
	// protected column fails to open.
	Migrating bool
	// MaxLen is the largest plaintext, in bytes, the column holds; 0 means
	// unbounded (TEXT). `gmfield ddl` sizes the column from it.
	MaxLen int
}

// Table is a table with protected columns.
//
// RowKey, when set, names a column whose value is bound into each
// protected value's AAD, as the canonical text of RowKeyType (integer by
// default): a value copied to another row fails to open. The row key must
// then be given by every INSERT of a protected column and pinned by
// "WHERE row_key = …" in every UPDATE of one, and it cannot be updated.
// Without a row key, values can be swapped between rows of a column
// undetected (Config.Warnings says which tables have none).
//
// Schema, when set, is the schema (PostgreSQL) or database (MySQL) the
// table lives in; it is bound into each value's AAD and names the
// keyspace, so a value copied to a same-named table elsewhere does not
// open there. Statements may still name the table unqualified.
//
// TenantColumn, under key_scope tenant, names the column that holds each
// row's tenant. The driver takes the tenant from the context (WithTenant);
// the lifecycle jobs, which read rows of every tenant, take it from this
// column.
type Table struct {
	Name         string
	Schema       string
	RowKey       string
	RowKeyType   KeyType
	TenantColumn string
	Columns      []Column
}

// Config is what Wrap needs: the keys, the protected tables and the role
// policy. LoadConfig reads one from YAML (docs/config.md).
type Config struct {
	// Keyring holds the DEKs and the blind-index root.
	Keyring *keyring.Keyring
	// Tables are the protected tables.
	Tables []Table
	// Policy decides what each principal sees. Its column rules are the
	// masking functions of the protected columns.
	Policy *masking.Policy
	// Dialect analyzes the SQL: pgdialect.SQLite, pgdialect.PostgreSQL or
	// mysqldialect.MySQL. Nil means: chosen from the wrapped driver's type.
	Dialect sqlplan.Dialect
	// Scope chooses how DEKs are shared among columns (default PerColumn);
	// with PerTenantColumn each write takes its tenant from WithTenant.
	Scope keyring.Scope
	// ShowIndexesInStar keeps blind-index columns in the results of
	// "SELECT *" (and "t.*"). By default they are left out, as if the
	// table did not have them, so that strict mappers (sqlx, GORM) need no
	// field for them; a blind index selected by name is always returned
	// (to callers whose action on its column is hash or more).
	ShowIndexesInStar bool
	// PlanCacheSize bounds the number of cached statement plans (default 1024).
	PlanCacheSize int
	// Audit, when set, receives one event per statement that touches a
	// protected table (docs/audit.md): an *audit.Log, an audit.SlogSink
	// or an audit.Fanout of them. A sink that fails fails the statement.
	// Closing the database handle of Wrap closes a sink that is an
	// io.Closer.
	Audit audit.Sink
	// Instance names this application instance in audit events (default:
	// the host name).
	Instance string
	// Guard, when set, checks every statement that touches a protected
	// table against its whitelist, high-risk rules and decryption
	// budgets (docs/guard.md); a blocked statement fails with an error
	// wrapping guard.ErrBlocked, and its audit event has outcome blocked.
	// Closing the database handle of Wrap closes it (guard.Guard.Close).
	Guard *guard.Guard
	// Logger receives the driver's log records (docs/observability.md):
	// statements refused and values that do not open, in fixed words,
	// configured table and column names and statement fingerprints: never
	// a value, a key, a tenant or SQL text. The lifecycle jobs log through it too unless given their
	// own. Nil discards them.
	Logger *slog.Logger
	// MeterProvider and TracerProvider receive the driver's metrics and
	// spans (docs/observability.md); nil means OpenTelemetry's global
	// providers, no-ops until the application installs an SDK.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Errors of configuration and execution. Test for them with errors.Is.
var (
	// ErrInvalidConfig reports a configuration that does not validate; a
	// YAML mistake comes as a *ConfigError naming its line.
	ErrInvalidConfig = errors.New("gmfield/sqldriver: invalid configuration")
	// ErrOpen wraps a stored value that failed to open (tag mismatch, a
	// value moved from another column or row, a destroyed key).
	ErrOpen = errors.New("gmfield/sqldriver: stored value does not open")
	// ErrBadValue reports a value bound for a protected column that the
	// driver cannot seal (an unsupported Go type) or a bad LIKE pattern.
	ErrBadValue = errors.New("gmfield/sqldriver: bad value for a protected column")
	// ErrNoTenant reports a write under key_scope: tenant whose context
	// carries no tenant (see WithTenant).
	ErrNoTenant = errors.New("gmfield/sqldriver: no tenant in the context")
	// ErrNamedArgs reports named arguments in a statement on a protected
	// table; the driver binds by position.
	ErrNamedArgs = errors.New("gmfield/sqldriver: named arguments are not supported on protected tables")
)

// Refusal sentinels, re-exported from sqlplan: errors.Is(err, ErrRefused)
// holds for every refused statement.
var (
	ErrRefused              = sqlplan.ErrRefused
	ErrUnparsable           = sqlplan.ErrUnparsable
	ErrMultiStatement       = sqlplan.ErrMultiStatement
	ErrUnsupportedUse       = sqlplan.ErrUnsupportedUse
	ErrUnsupportedStatement = sqlplan.ErrUnsupportedStatement
	ErrRowKeyRequired       = sqlplan.ErrRowKeyRequired
	ErrNoIndex              = sqlplan.ErrNoIndex
	ErrSession              = sqlplan.ErrSession
)

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// PlainIdentifier reports whether s can name a table, schema or column in
// a Config: a plain lower-case identifier of at most 63 characters.
func PlainIdentifier(s string) bool { return identRE.MatchString(s) }

// Warnings returns what in cfg is allowed but weakens the protection it
// gives, in words for a person: today, each table without a row key,
// whose values can be swapped between rows undetected. `gmfield plan`
// prints them.
func (cfg *Config) Warnings() []string {
	var out []string
	for _, t := range cfg.Tables {
		if t.RowKey == "" {
			out = append(out, fmt.Sprintf("table %s has no row_key: a protected value copied to another row of the same column opens there (declare a row key; docs/config.md)", strings.ToLower(t.Name)))
		}
	}
	return out
}

// Validate checks cfg as Wrap does, without opening anything: names,
// row keys, indexes, the policy and the key ring are given and agree.
func (cfg *Config) Validate() error {
	_, err := cfg.catalog()
	return err
}

// catalog validates cfg and builds the analyzers' view of it.
func (cfg *Config) catalog() (*sqlplan.MapCatalog, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	if cfg.Keyring == nil {
		return nil, bad("no keyring")
	}
	if cfg.Policy == nil {
		return nil, bad("no policy")
	}
	var tables []*sqlplan.Table
	seen := map[string]bool{}
	for _, tc := range cfg.Tables {
		name := strings.ToLower(tc.Name)
		if !identRE.MatchString(name) {
			return nil, bad("table name %q: use a plain identifier", tc.Name)
		}
		if seen[name] {
			return nil, bad("table %s declared twice", name)
		}
		seen[name] = true
		t := &sqlplan.Table{Name: name, RowKey: strings.ToLower(tc.RowKey), RowKeyText: tc.RowKeyType.Kind == KeyText,
			Columns: map[string]*sqlplan.Column{}, IndexColumns: map[string]*sqlplan.Column{}}
		if t.RowKey != "" && !identRE.MatchString(t.RowKey) {
			return nil, bad("%s.row_key %q: use a plain identifier", name, tc.RowKey)
		}
		if err := tc.RowKeyType.validate(); err != nil {
			return nil, bad("%s.row_key: %v", name, err)
		}
		if tc.TenantColumn != "" && !identRE.MatchString(strings.ToLower(tc.TenantColumn)) {
			return nil, bad("%s.tenant_column %q: use a plain identifier", name, tc.TenantColumn)
		}
		if tc.Schema != "" && !identRE.MatchString(strings.ToLower(tc.Schema)) {
			return nil, bad("%s.schema %q: use a plain identifier", name, tc.Schema)
		}
		if len(tc.Columns) == 0 {
			return nil, bad("table %s has no protected column", name)
		}
		names := map[string]string{}
		claim := func(col, what string) error {
			if !identRE.MatchString(col) {
				return bad("%s.%s: use a plain lower-case identifier", name, col)
			}
			if prev, ok := names[col]; ok {
				return bad("%s.%s is both %s and %s", name, col, prev, what)
			}
			if col == t.RowKey {
				return bad("%s.%s is the row key and %s", name, col, what)
			}
			names[col] = what
			return nil
		}
		if tc.TenantColumn != "" {
			if err := claim(strings.ToLower(tc.TenantColumn), "the tenant column"); err != nil {
				return nil, err
			}
		}
		for _, cc := range tc.Columns {
			cn := strings.ToLower(cc.Name)
			if err := claim(cn, "a protected column"); err != nil {
				return nil, err
			}
			if cc.MaxLen < 0 || cc.MaxLen > crypto.MaxPlaintextSize {
				return nil, bad("%s.%s: max_len must be 0 to %d", name, cn, crypto.MaxPlaintextSize)
			}
			col := &sqlplan.Column{Table: name, Name: cn, Migrating: cc.Migrating}
			transforms := map[crypto.Transform]bool{}
			for _, ix := range cc.Indexes {
				ic := strings.ToLower(ix.Column)
				if err := claim(ic, "a blind index of "+cn); err != nil {
					return nil, err
				}
				if _, err := crypto.ParseTransform(string(ix.Transform)); err != nil {
					return nil, bad("%s.%s index %s: %v", name, cn, ic, err)
				}
				if transforms[ix.Transform] {
					return nil, bad("%s.%s has two %s indexes", name, cn, ix.Transform)
				}
				transforms[ix.Transform] = true
				if ix.Size != 0 && (ix.Size < crypto.MinIndexSize || ix.Size > crypto.MaxIndexSize) {
					return nil, bad("%s.%s index %s: size must be %d to %d bytes", name, cn, ic, crypto.MinIndexSize, crypto.MaxIndexSize)
				}
				col.Indexes = append(col.Indexes, sqlplan.Index{Column: ic, Transform: ix.Transform})
				t.IndexColumns[ic] = col
			}
			for _, r := range cfg.Policy.Roles() {
				if cfg.Policy.Decide(masking.Principal{Roles: []string{r}}, name, cn) == masking.ActionHash {
					col.Hash = col.EqualityIndex() != nil
				}
			}
			t.Columns[cn] = col
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil, bad("no protected table")
	}
	return sqlplan.NewCatalog(tables...), nil
}
