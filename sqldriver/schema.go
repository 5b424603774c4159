package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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
	keyspace      string // "" under keyring.PerTenantColumn: from the context
	form          Form
	onError       OnError
	indexes       map[string]*crypto.Index // by transform
	pseudonym     *crypto.Index            // keyed pseudonym of the full index (hash action)
	rule          *masking.Rule
}

func newSchema(ctx context.Context, cfg *Config, dialect sqlplan.Dialect) (*schema, error) {
	cat, err := cfg.catalog()
	if err != nil {
		return nil, err
	}
	root, err := cfg.Keyring.IndexRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("gmfield/sqldriver: blind-index root: %w", err)
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
			var ks string
			if cfg.Scope != keyring.PerTenantColumn {
				if ks, err = cfg.Scope.Keyspace("", table, name); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidConfig, table, name, err)
				}
			}
			pc := &protCol{table: table, column: name, keyspace: ks, form: cc.Form, onError: cc.OnError,
				indexes: map[string]*crypto.Index{}, rule: cfg.Policy.Rule(table, name)}
			for _, ix := range cc.Indexes {
				idx, err := root.Index(crypto.IndexSpec{Table: table, Column: name, Transform: ix.Transform, Size: ix.Size})
				if err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidConfig, table, name, err)
				}
				pc.indexes[string(ix.Transform)] = idx
			}
			// The hash action shows a keyed pseudonym of the stored full
			// index, so that it never needs the plaintext (docs/config.md).
			pc.pseudonym, err = root.Index(crypto.IndexSpec{Table: "gmfield:pseudonym", Column: table + "." + name, Transform: crypto.TransformFull})
			if err != nil {
				return nil, err
			}
			s.cols[colKey{table, name}] = pc
		}
	}
	return s, nil
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
			loc := crypto.Location{Table: pc.table, Column: pc.column}
			if sl.RowKey != nil {
				rk, err := s.rowKey(*sl.RowKey, args)
				if err != nil {
					return nil, fmt.Errorf("%w: %s row key: %v", ErrBadValue, pc.table, err)
				}
				loc.RowKey = rk
			}
			ks := pc.keyspace
			if ks == "" {
				tenant, _ := ctx.Value(tenantKey{}).(string)
				if ks, err = s.scope.Keyspace(tenant, pc.table, pc.column); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrNoTenant, pc.table, pc.column, err)
				}
			}
			key, err := s.kr.Current(ctx, ks)
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
				suffix, ok := sqlplan.SuffixPattern(string(plain))
				if !ok {
					return nil, fmt.Errorf("%w: %s.%s: LIKE pattern must be '%%' followed by the last digits", ErrBadValue, pc.table, pc.column)
				}
				plain = []byte(suffix)
			}
			idx := pc.indexes[sl.Transform]
			if idx == nil {
				return nil, fmt.Errorf("gmfield/sqldriver: internal: no %s index on %s.%s", sl.Transform, sl.Table, sl.Column)
			}
			buf, err = idx.SumHex(buf[:0], plain)
			switch {
			case errors.Is(err, crypto.ErrInvalidInput) && sl.Op == sqlplan.OpIndex:
				// A value the transform cannot index (last4 of a value with
				// fewer than four digits) gets no index entry and matches nothing.
				continue
			case err != nil:
				return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
			}
			out[i].Value = string(buf)
		}
	}
	return out, nil
}

func (s *schema) rowKey(v sqlplan.Value, args []driver.NamedValue) (string, error) {
	if v.Arg < 0 {
		return v.Literal, nil
	}
	return rowKeyString(args[v.Arg].Value)
}

// valueBytes returns the bytes to seal or index for a bound value.
func valueBytes(v driver.Value) ([]byte, bool, error) {
	if vr, ok := v.(driver.Valuer); ok {
		var err error
		if v, err = vr.Value(); err != nil {
			return nil, false, err
		}
	}
	switch x := v.(type) {
	case nil:
		return nil, true, nil
	case string:
		return []byte(x), false, nil
	case []byte:
		return x, false, nil
	case int64, float64, bool, time.Time, int, int32, uint32, uint64:
		s, err := rowKeyString(x)
		return []byte(s), false, err
	}
	return nil, false, fmt.Errorf("unsupported type %T", v)
}

// rowKeyString is the canonical text of a row key value, the same for the
// value the caller binds and the one the database returns.
func rowKeyString(v driver.Value) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), nil
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case nil:
		return "", errors.New("NULL row key")
	}
	return "", fmt.Errorf("unsupported row key type %T", v)
}

type tenantKey struct{}

// WithTenant returns a copy of ctx whose writes are sealed under tenant's
// DEKs, for key_scope: tenant (keyring.PerTenantColumn). Destroying a
// tenant's DEKs shreds that tenant's values only. Reads need no tenant:
// each value names its DEK.
func WithTenant(ctx context.Context, tenant string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenant)
}
