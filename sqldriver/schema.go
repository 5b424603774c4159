package sqldriver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// schema is a validated Config ready for use by connections.
type schema struct {
	cat     *sqlplan.MapCatalog
	dialect sqlplan.Dialect
	kr      *keyring.Keyring
	policy  *masking.Policy
	cols    map[colKey]*protCol
	scope   keyring.Scope
	plans   *lru.Cache[string, planResult]
	// tenants caches the derived indexes of each tenant keyspace, keyed by
	// keyspace; an entry is used only while the key ring hands out the
	// same root.
	tenants sync.Map
}

// colKey names a protected column (lower case).
type colKey struct{ table, column string }

type planResult struct {
	plan *sqlplan.Plan
	err  error
}

// protCol is the runtime state of one protected column.
type protCol struct {
	table, column string
	schema        string  // declared schema, bound into the AAD
	keyType       KeyType // the table's row-key type
	keyspace      string  // "" under keyring.PerTenantColumn: from the context
	form          Form
	onError       OnError
	specs         map[string]crypto.IndexSpec // by transform
	// indexes and pseudonym are derived from the deployment's root; under
	// keyring.PerTenantColumn they are nil and come from the tenant
	// keyspace's root (schema.indexFor).
	indexes   map[string]*crypto.Index // by transform
	pseudonym *crypto.Index            // keyed pseudonym of the full index (hash action)
	rule      *masking.Rule
}

// pseudonymSpec is the index whose value the hash action shows: HMAC-SM3
// of the stored full index under a key of its own (docs/sqldriver.md).
func pseudonymSpec(table, column string) crypto.IndexSpec {
	return crypto.IndexSpec{Table: "gmfield:pseudonym", Column: table + "." + column, Transform: crypto.TransformFull}
}

func newSchema(ctx context.Context, cfg *Config, dialect sqlplan.Dialect) (*schema, error) {
	cat, err := cfg.catalog()
	if err != nil {
		return nil, err
	}
	var root *crypto.IndexRoot
	if cfg.Scope != keyring.PerTenantColumn {
		if root, err = cfg.Keyring.IndexRoot(ctx); err != nil {
			return nil, fmt.Errorf("gmfield/sqldriver: blind-index root: %w", err)
		}
	}
	size := cfg.PlanCacheSize
	if size <= 0 {
		size = 1024
	}
	plans, err := lru.New[string, planResult](size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	s := &schema{cat: cat, dialect: dialect, kr: cfg.Keyring, policy: cfg.Policy, cols: map[colKey]*protCol{}, plans: plans, scope: cfg.Scope}
	for _, tc := range cfg.Tables {
		table := strings.ToLower(tc.Name)
		for _, cc := range tc.Columns {
			name := strings.ToLower(cc.Name)
			pc := &protCol{table: table, column: name, schema: strings.ToLower(tc.Schema), keyType: tc.RowKeyType, form: cc.Form, onError: cc.OnError,
				specs: map[string]crypto.IndexSpec{}, rule: cfg.Policy.Rule(table, name)}
			for _, ix := range cc.Indexes {
				pc.specs[string(ix.Transform)] = crypto.IndexSpec{Table: table, Column: name, Transform: ix.Transform, Size: ix.Size}
			}
			if root != nil {
				loc := crypto.Location{Schema: pc.schema, Table: table, Column: name}
				if pc.keyspace, err = cfg.Scope.Keyspace("", loc); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidConfig, table, name, err)
				}
				if pc.indexes, pc.pseudonym, err = deriveIndexes(root, pc); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidConfig, table, name, err)
				}
			}
			s.cols[colKey{table, name}] = pc
		}
	}
	return s, nil
}

// deriveIndexes derives pc's blind indexes and pseudonym key from root.
func deriveIndexes(root *crypto.IndexRoot, pc *protCol) (map[string]*crypto.Index, *crypto.Index, error) {
	out := make(map[string]*crypto.Index, len(pc.specs))
	for tr, spec := range pc.specs {
		ix, err := root.Index(spec)
		if err != nil {
			return nil, nil, err
		}
		out[tr] = ix
	}
	ps, err := root.Index(pseudonymSpec(pc.table, pc.column))
	return out, ps, err
}

// tenantIndexes are pc's indexes under one tenant keyspace's root.
type tenantIndexes struct {
	root      *crypto.IndexRoot
	indexes   map[string]*crypto.Index
	pseudonym *crypto.Index
}

// place returns where pc's values live for the statement of ctx: the
// keyspace (under key_scope tenant, of the context's tenant), schema,
// table and column.
func (s *schema) place(ctx context.Context, pc *protCol) (crypto.Location, error) {
	loc := crypto.Location{Keyspace: pc.keyspace, Schema: pc.schema, Table: pc.table, Column: pc.column}
	if pc.keyspace != "" {
		return loc, nil
	}
	tenant, _ := ctx.Value(tenantKey{}).(string)
	if tenant == "" {
		return loc, fmt.Errorf("%w: %s.%s is sealed per tenant (key_scope: tenant)", ErrNoTenant, pc.table, pc.column)
	}
	loc, err := s.scope.Locate(tenant, loc)
	if err != nil {
		return loc, fmt.Errorf("%w: %s.%s: %v", ErrNoTenant, pc.table, pc.column, err)
	}
	return loc, nil
}

// indexes returns pc's blind indexes and pseudonym key for the statement
// of ctx: the deployment's, or under key_scope tenant those of the
// tenant keyspace's root, which the key ring caches (and destroys with
// the keyspace's last DEK).
func (s *schema) indexes(ctx context.Context, pc *protCol) (map[string]*crypto.Index, *crypto.Index, error) {
	if pc.indexes != nil {
		return pc.indexes, pc.pseudonym, nil
	}
	loc, err := s.place(ctx, pc)
	if err != nil {
		return nil, nil, err
	}
	root, err := s.kr.IndexRootFor(ctx, loc.Keyspace)
	if err != nil {
		return nil, nil, fmt.Errorf("gmfield/sqldriver: %s.%s: blind-index root: %w", pc.table, pc.column, err)
	}
	if v, ok := s.tenants.Load(loc.Keyspace); ok && v.(*tenantIndexes).root == root {
		t := v.(*tenantIndexes)
		return t.indexes, t.pseudonym, nil
	}
	ix, ps, err := deriveIndexes(root, pc)
	if err != nil {
		return nil, nil, err
	}
	s.tenants.Store(loc.Keyspace, &tenantIndexes{root: root, indexes: ix, pseudonym: ps})
	return ix, ps, nil
}

func (s *schema) col(table, column string) *protCol { return s.cols[colKey{table, column}] }

// plan returns the cached plan of query.
func (s *schema) plan(query string) (*sqlplan.Plan, error) {
	if r, ok := s.plans.Get(query); ok {
		return r.plan, r.err
	}
	p, err := s.dialect.Analyze(s.cat, query)
	s.plans.Add(query, planResult{p, err})
	return p, err
}

// bind computes the arguments of the rewritten statement from the caller's.
func (s *schema) bind(ctx context.Context, p *sqlplan.Plan, args []driver.NamedValue) ([]driver.NamedValue, error) {
	if len(args) != p.NumInput && p.NumInput >= 0 {
		return nil, fmt.Errorf("gmfield/sqldriver: got %d arguments, statement takes %d", len(args), p.NumInput)
	}
	for _, a := range args {
		if a.Name != "" {
			return nil, ErrNamedArgs
		}
	}
	out := make([]driver.NamedValue, len(p.Slots))
	var buf []byte
	for i, sl := range p.Slots {
		v := sl.Value.Arg
		var val driver.Value
		if v >= 0 {
			val = args[v].Value
		} else if !sl.Value.Null {
			val = sl.Value.Literal
		}
		out[i] = driver.NamedValue{Ordinal: i + 1}
		if sl.Op == sqlplan.OpPass {
			out[i].Value = val
			continue
		}
		pc := s.col(sl.Table, sl.Column)
		if pc == nil {
			return nil, fmt.Errorf("gmfield/sqldriver: internal: no column %s.%s", sl.Table, sl.Column)
		}
		plain, isNull, err := valueBytes(val)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, sl.Table, sl.Column, err)
		}
		if isNull {
			continue
		}
		switch sl.Op {
		case sqlplan.OpSeal:
			loc, err := s.place(ctx, pc)
			if err != nil {
				return nil, err
			}
			if sl.RowKey != nil {
				if loc.RowKey, err = s.rowKey(pc, *sl.RowKey, args); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
				}
			}
			key, err := s.kr.Current(ctx, loc.Keyspace)
			if err != nil {
				return nil, fmt.Errorf("gmfield/sqldriver: %s.%s: %w", pc.table, pc.column, err)
			}
			if pc.form == FormBinary {
				sealed, err := key.Seal(nil, loc, plain)
				if err != nil {
					return nil, fmt.Errorf("gmfield/sqldriver: %s.%s: %w", pc.table, pc.column, err)
				}
				out[i].Value = sealed
			} else {
				buf, err = key.SealText(buf[:0], loc, plain)
				if err != nil {
					return nil, fmt.Errorf("gmfield/sqldriver: %s.%s: %w", pc.table, pc.column, err)
				}
				out[i].Value = string(buf)
			}
		case sqlplan.OpIndex, sqlplan.OpLikeLast4:
			if sl.Op == sqlplan.OpLikeLast4 {
				digits, ok := sqlplan.LastFourPattern(string(plain))
				if !ok {
					return nil, fmt.Errorf("%w: %w: %s.%s: a LIKE on a last4 index takes '%%' and exactly four digits", ErrBadValue, ErrUnsupportedUse, pc.table, pc.column)
				}
				plain = []byte(digits)
			}
			indexes, _, err := s.indexes(ctx, pc)
			if err != nil {
				return nil, err
			}
			idx := indexes[sl.Transform]
			if idx == nil {
				return nil, fmt.Errorf("gmfield/sqldriver: internal: no %s index on %s.%s", sl.Transform, sl.Table, sl.Column)
			}
			buf, err = idx.SumHex(buf[:0], plain)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
			}
			out[i].Value = string(buf)
		}
	}
	return out, nil
}

// rowKey is the canonical text of a row key for pc's table: of the
// caller's argument, or of a literal.
func (s *schema) rowKey(pc *protCol, v sqlplan.Value, args []driver.NamedValue) (string, error) {
	if v.Arg < 0 {
		return pc.keyType.canonicalLiteral(v)
	}
	return pc.keyType.Canonical(args[v.Arg].Value)
}

// valueBytes returns the bytes to seal or index for a bound value: its
// text for numbers, booleans and times.
func valueBytes(v driver.Value) ([]byte, bool, error) {
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return nil, false, err
		}
	}
	switch x := derefValue(v).(type) {
	case nil:
		return nil, true, nil
	case string:
		return []byte(x), false, nil
	case []byte:
		return x, false, nil
	case float64:
		return strconv.AppendFloat(nil, x, 'g', -1, 64), false, nil
	case bool:
		return strconv.AppendBool(nil, x), false, nil
	case time.Time:
		return x.AppendFormat(nil, time.RFC3339Nano), false, nil
	default:
		if s, ok := asInt(x); ok {
			return []byte(s), false, nil
		}
	}
	return nil, false, fmt.Errorf("unsupported type %T", v)
}

type tenantKey struct{}

// WithTenant returns a copy of ctx whose statements act for tenant, for
// key_scope: tenant (keyring.PerTenantColumn): writes are sealed under the
// tenant's DEKs and indexed under its blind-index root, searches use that
// root, and reads open only values sealed for the tenant (another
// tenant's values fail with crypto.ErrKeyMismatch). Without a tenant,
// such statements fail with ErrNoTenant. Destroying a tenant's DEKs
// shreds its values and, with its last DEK, its blind indexes.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}
