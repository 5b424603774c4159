package sqldriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
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
	keys    map[string]KeyType     // row-key types by table
	session sqlplan.SessionChecker // nil when the dialect reads no connection settings
	// derived caches each column's derived index keys, by keyspace and
	// column; an entry is used only while the key ring hands out the same
	// root.
	derived sync.Map
	// sink receives the audit events (nil: none); gate is sink's Gate.
	sink     audit.Sink
	gate     audit.Gate
	instance string
	guard    *guard.Guard
	tel      *telemetry
	// showIndexes keeps blind-index columns in "*" results.
	showIndexes bool
	// open holds the unrecorded results of connections made without a
	// connector (driver.Driver.Open); connectors keep their own.
	open openSet
	// inflight counts the statements admitted whose event is not written.
	inflight sync.WaitGroup
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
	name          string  // table.column, for audit events
	schema        string  // declared schema, bound into the AAD
	keyType       KeyType // the table's row-key type
	keyspace      string  // "" under keyring.PerTenantColumn: from the context
	form          Form
	onError       OnError
	migrating     bool
	specs         map[crypto.Transform]crypto.IndexSpec
	rule          *masking.Rule
	metrics       *columnMetrics
}

// sealed reports whether stored bytes of pc are an envelope rather than
// plaintext: the text form by its prefix (a value with the prefix that
// does not parse is a damaged envelope, not plaintext), the binary form
// by parsing its header.
func (pc *protCol) sealed(b []byte) bool {
	if pc.form == FormBinary {
		_, err := crypto.Parse(b)
		return err == nil
	}
	return crypto.IsText(b)
}

// open opens stored bytes of pc at loc, in pc's form.
func (pc *protCol) open(dst []byte, keys crypto.KeySource, loc crypto.Location, b []byte) ([]byte, error) {
	if pc.form == FormBinary {
		return crypto.Open(dst, keys, loc, b)
	}
	return crypto.OpenText(dst, keys, loc, b)
}

// pseudonymSpec is the index whose value the hash action shows: HMAC-SM3
// of the stored full index under a key of its own (docs/sqldriver.md).
func pseudonymSpec(table, column string) crypto.IndexSpec {
	return crypto.IndexSpec{Table: "gmfield:pseudonym", Column: table + "." + column, Transform: crypto.TransformFull}
}

// tableKey returns t's row-key type for the analyzers' table name.
func (s *schema) tableKey(table string) (KeyType, bool) {
	kt, ok := s.keys[table]
	return kt, ok
}

func newSchema(ctx context.Context, cfg *Config, dialect sqlplan.Dialect) (*schema, error) {
	cat, err := cfg.catalog()
	if err != nil {
		return nil, err
	}
	// Load (or create) the deployment's root now, so that a wrong KEK fails
	// Wrap rather than the first statement. A write-only keyring (an SM2
	// public key) cannot read it, and a destroyed root awaits renewal:
	// both still seal and open values, and fail every index slot.
	_, err = cfg.Keyring.IndexRoot(ctx)
	if err != nil && !errors.Is(err, keyring.ErrCannotUnwrap) && !errors.Is(err, keyring.ErrKeyDestroyed) {
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
	tel, err := newTelemetry(cfg)
	if err != nil {
		return nil, err
	}
	s := &schema{tel: tel, cat: cat, dialect: dialect, kr: cfg.Keyring, policy: cfg.Policy, cols: map[colKey]*protCol{}, keys: map[string]KeyType{},
		plans: plans, scope: cfg.Scope, guard: cfg.Guard, showIndexes: cfg.ShowIndexesInStar}
	if cfg.Audit != nil {
		s.sink, s.instance = cfg.Audit, cfg.Instance
		s.gate, _ = cfg.Audit.(audit.Gate)
		if s.instance == "" {
			s.instance, _ = os.Hostname()
		}
	}
	if sc, ok := dialect.(sqlplan.SessionChecker); ok && sc.SessionQuery() != "" {
		s.session = sc
	}
	if w, ok := dialect.(sqlplan.Warmer); ok {
		go w.Warm()
	}
	for _, tc := range cfg.Tables {
		table := strings.ToLower(tc.Name)
		s.keys[table] = tc.RowKeyType
		for _, cc := range tc.Columns {
			name := strings.ToLower(cc.Name)
			pc := &protCol{table: table, column: name, name: table + "." + name, schema: strings.ToLower(tc.Schema), keyType: tc.RowKeyType, form: cc.Form, onError: cc.OnError, migrating: cc.Migrating,
				specs: map[crypto.Transform]crypto.IndexSpec{}, rule: cfg.Policy.Rule(table, name)}
			var transforms []crypto.Transform
			for _, ix := range cc.Indexes {
				pc.specs[ix.Transform] = crypto.IndexSpec{Table: table, Column: name, Transform: ix.Transform, Size: ix.Size}
				transforms = append(transforms, ix.Transform)
			}
			pc.metrics = newColumnMetrics(table, name, transforms)
			if cfg.Scope != keyring.PerTenantColumn {
				loc := crypto.Location{Schema: pc.schema, Table: table, Column: name}
				if pc.keyspace, err = cfg.Scope.Keyspace("", loc); err != nil {
					return nil, fmt.Errorf("%w: %s.%s: %v", ErrInvalidConfig, table, name, err)
				}
			}
			s.cols[colKey{table, name}] = pc
		}
	}
	return s, nil
}

// derived are a column's indexes under one root key.
type derived struct {
	root      *crypto.IndexRoot
	indexes   map[crypto.Transform]*crypto.Index
	pseudonym *crypto.Index // the hash action's key
}

func derive(root *crypto.IndexRoot, pc *protCol) (*derived, error) {
	d := &derived{root: root, indexes: make(map[crypto.Transform]*crypto.Index, len(pc.specs))}
	for tr, spec := range pc.specs {
		ix, err := root.Index(spec)
		if err != nil {
			return nil, err
		}
		d.indexes[tr] = ix
	}
	var err error
	d.pseudonym, err = root.Index(pseudonymSpec(pc.table, pc.column))
	return d, err
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
// of ctx, under the root of its keyspace: the deployment's, or under
// key_scope tenant the tenant keyspace's own. The key ring caches roots
// for its TTL, so a destroyed root stops working here within it; derived
// keys are reused while the key ring hands out the same root. A tenant
// keyspace that has no root yet has no values: for a search, indexes
// returns nil, and the search then matches nothing; a write fails (bind
// seals first, and the keyspace's first DEK makes its root).
func (s *schema) indexes(ctx context.Context, pc *protCol, search bool) (*derived, error) {
	loc, err := s.place(ctx, pc)
	if err != nil {
		return nil, err
	}
	root, err := s.kr.IndexRootFor(ctx, loc.Keyspace)
	if errors.Is(err, keyring.ErrKeyNotFound) && pc.keyspace == "" && search {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gmfield/sqldriver: %s.%s: blind-index root: %w", pc.table, pc.column, err)
	}
	key := loc.Keyspace + "\x00" + pc.table + "\x00" + pc.column
	if v, ok := s.derived.Load(key); ok && v.(*derived).root == root {
		return v.(*derived), nil
	}
	d, err := derive(root, pc)
	if err != nil {
		return nil, err
	}
	s.derived.Store(key, d)
	return d, nil
}

func (s *schema) col(table, column string) *protCol { return s.cols[colKey{table, column}] }

// plan returns the cached plan of query.
func (s *schema) plan(ctx context.Context, query string) (*sqlplan.Plan, error) {
	if r, ok := s.plans.Get(query); ok {
		s.tel.plans.Add(ctx, 1, s.tel.hit)
		return r.plan, r.err
	}
	s.tel.plans.Add(ctx, 1, s.tel.miss)
	p, err := s.analyze(ctx, query)
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
	sb := sealBatches.Get().(*sealBatch)
	defer sb.release()
	// Index slots of written values come last, after the seals: the first
	// DEK of a tenant keyspace is what makes its blind-index root.
	var writes []int
	for i, sl := range p.Slots {
		if sl.Op == sqlplan.OpIndex && !sl.Search {
			writes = append(writes, i)
			continue
		}
		if sl.Op == sqlplan.OpSeal {
			if err := s.addSeal(ctx, sb, sl, i, args); err != nil {
				return nil, err
			}
			out[i] = driver.NamedValue{Ordinal: i + 1}
			continue
		}
		v, err := s.bindSlot(ctx, sl, args, &buf)
		if err != nil {
			return nil, err
		}
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	// The statement's values are sealed in one batch.
	if err := sb.seal(func(slot int, v driver.Value) { out[slot].Value = v }); err != nil {
		return nil, err
	}
	for _, i := range writes {
		v, err := s.bindSlot(ctx, p.Slots[i], args, &buf)
		if err != nil {
			return nil, err
		}
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	// Values are counted sealed once the whole statement is bound.
	for _, pc := range sb.cols {
		s.tel.value(ctx, pc, valueSealed, 1)
	}
	return out, nil
}

// addSeal adds the value of seal slot sl (the slot-th of the statement)
// to sb, under the current DEK of its place's keyspace; a NULL adds
// nothing and binds NULL.
func (s *schema) addSeal(ctx context.Context, sb *sealBatch, sl sqlplan.Slot, slot int, args []driver.NamedValue) error {
	pc, plain, isNull, err := s.slotPlain(sl, slotArg(sl, args))
	if err != nil || isNull {
		return err
	}
	loc, err := s.place(ctx, pc)
	if err != nil {
		return err
	}
	if sl.RowKey != nil {
		if loc.RowKey, err = s.rowKey(pc, *sl.RowKey, args); err != nil {
			return fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
		}
	}
	return sb.add(ctx, s, pc, loc, plain, slot)
}

// slotPlain is the protected column of slot sl and the bytes of val, the
// value it binds, or isNull for NULL.
func (s *schema) slotPlain(sl sqlplan.Slot, val driver.Value) (pc *protCol, plain []byte, isNull bool, err error) {
	if pc = s.col(sl.Table, sl.Column); pc == nil {
		return nil, nil, false, fmt.Errorf("gmfield/sqldriver: internal: no column %s.%s", sl.Table, sl.Column)
	}
	if plain, isNull, err = valueBytes(val); err != nil {
		return nil, nil, false, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, sl.Table, sl.Column, err)
	}
	return pc, plain, isNull, nil
}

// slotArg is the caller's value a slot binds: an argument, a literal, or
// nil for NULL.
func slotArg(sl sqlplan.Slot, args []driver.NamedValue) driver.Value {
	if v := sl.Value.Arg; v >= 0 {
		return args[v].Value
	}
	if !sl.Value.Null {
		return sl.Value.Literal
	}
	return nil
}

// bindSlot computes the value of slot sl; buf is scratch space reused
// across slots.
func (s *schema) bindSlot(ctx context.Context, sl sqlplan.Slot, args []driver.NamedValue, buf *[]byte) (driver.Value, error) {
	val := slotArg(sl, args)
	switch sl.Op {
	case sqlplan.OpPass:
		if sl.Text && val != nil {
			b, _, err := valueBytes(val)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, sl.Table, sl.Column, err)
			}
			return string(b), nil
		}
		return val, nil
	case sqlplan.OpRowKey:
		return s.rowKeyValue(sl, args)
	}
	pc, plain, isNull, err := s.slotPlain(sl, val)
	if err != nil || isNull {
		return nil, err
	}
	switch sl.Op {
	case sqlplan.OpIndex, sqlplan.OpLikeLast4:
		if sl.Op == sqlplan.OpLikeLast4 {
			digits, ok := sqlplan.LastFourPattern(string(plain))
			if !ok {
				return nil, fmt.Errorf("%w: %w", ErrBadValue, sqlplan.Refuse(ErrUnsupportedUse, pc.table, pc.column, "a LIKE on a last4 index takes '%' and exactly four digits"))
			}
			plain = []byte(digits)
		}
		d, err := s.indexes(ctx, pc, sl.Search || sl.Op == sqlplan.OpLikeLast4)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return nil, nil // a search in a tenant keyspace with no root yet: NULL matches nothing
		}
		idx := d.indexes[sl.Transform]
		if idx == nil {
			return nil, fmt.Errorf("gmfield/sqldriver: internal: no %s index on %s.%s", sl.Transform, sl.Table, sl.Column)
		}
		if *buf, err = idx.SumHex((*buf)[:0], plain); err != nil {
			return nil, fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
		}
		if sl.Search || sl.Op == sqlplan.OpLikeLast4 {
			s.tel.lookup(ctx, pc, sl.Transform)
		}
		return string(*buf), nil
	}
	return nil, fmt.Errorf("gmfield/sqldriver: internal: slot op %d", sl.Op)
}

// seal seals plain at loc under the current DEK of loc's keyspace, in
// pc's form: the one sealing rule of the driver and the lifecycle jobs
// (a statement's values go through the same sealBatch).
func (s *schema) seal(ctx context.Context, pc *protCol, loc crypto.Location, plain []byte) (driver.Value, error) {
	sb := sealBatches.Get().(*sealBatch)
	defer sb.release()
	if err := sb.add(ctx, s, pc, loc, plain, 0); err != nil {
		return nil, err
	}
	var v driver.Value
	err := sb.seal(func(_ int, sealed driver.Value) { v = sealed })
	return v, err
}

// sealBatch gathers the values one statement seals, to seal them in one
// crypto.Sealer batch.
type sealBatch struct {
	sealer crypto.Sealer
	items  []crypto.SealItem
	cols   []*protCol
	slots  []int
}

var sealBatches = sync.Pool{New: func() any { return new(sealBatch) }}

// add adds plain, to be sealed at loc in pc's form and bound to slot,
// under the current DEK of loc's keyspace: asked once per value, since
// the key ring counts each call as one seal against the DEK's limit (a
// DEK may change within a statement).
func (b *sealBatch) add(ctx context.Context, s *schema, pc *protCol, loc crypto.Location, plain []byte, slot int) error {
	key, err := s.kr.Current(ctx, loc.Keyspace)
	if err != nil {
		return fmt.Errorf("gmfield/sqldriver: %s.%s: %w", pc.table, pc.column, err)
	}
	b.items = append(b.items, crypto.SealItem{Key: key, Loc: loc, Plain: plain, Text: pc.form != FormBinary})
	b.cols, b.slots = append(b.cols, pc), append(b.slots, slot)
	return nil
}

// seal seals the values added and gives each to bind: a string for a
// text column, []byte for a binary one. The envelopes share one fresh
// buffer (and the text ones one string), which the database driver may
// keep.
func (b *sealBatch) seal(bind func(slot int, v driver.Value)) error {
	if len(b.items) == 0 {
		return nil
	}
	size, anyText := 0, false
	for _, it := range b.items {
		if it.Text {
			size, anyText = size+crypto.TextLen(len(it.Key.ID()), len(it.Plain)), true
		} else {
			size += crypto.BinaryLen(len(it.Key.ID()), len(it.Plain))
		}
	}
	out := b.sealer.Seal(make([]byte, 0, size), b.items)
	for i, it := range b.items {
		if it.Err != nil {
			return fmt.Errorf("gmfield/sqldriver: %s.%s: %w", b.cols[i].table, b.cols[i].column, it.Err)
		}
	}
	var text string
	if anyText {
		text = string(out)
	}
	// The envelopes lie in out in the items' order.
	from := 0
	for i, it := range b.items {
		to := from + len(it.Sealed)
		if it.Text {
			bind(b.slots[i], text[from:to])
		} else {
			bind(b.slots[i], it.Sealed)
		}
		from = to
	}
	return nil
}

// release empties b, dropping its references to plaintexts and keys, and
// returns it to the pool.
func (b *sealBatch) release() {
	clear(b.items)
	clear(b.cols)
	b.items, b.cols, b.slots = b.items[:0], b.cols[:0], b.slots[:0]
	if cap(b.items) <= maxPooledSeals {
		sealBatches.Put(b)
	}
}

// maxPooledSeals bounds the batches kept for reuse.
const maxPooledSeals = 4096

// rowKeyValue binds the canonical row key of slot sl's table, typed for
// the database: the extra condition that pins an UPDATE to the row whose
// key the values are sealed under.
func (s *schema) rowKeyValue(sl sqlplan.Slot, args []driver.NamedValue) (driver.Value, error) {
	kt, ok := s.tableKey(sl.Table)
	if !ok {
		return nil, fmt.Errorf("gmfield/sqldriver: internal: no table %s", sl.Table)
	}
	var text string
	var err error
	if sl.Value.Arg < 0 {
		text, err = kt.canonicalLiteral(sl.Value)
	} else {
		text, err = kt.Canonical(args[sl.Value.Arg].Value)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadValue, sl.Table, err)
	}
	return kt.typed(text)
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
	v, err := argValue(v)
	if err != nil {
		return nil, false, err
	}
	switch x := v.(type) {
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
