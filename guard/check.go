package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/masking"
)

// Config configures a Guard.
type Config struct {
	// Roles are the guard's settings by role name (case-insensitive).
	// A caller gets the most permissive combination of the roles it has
	// that are listed here; a caller none of whose roles is listed gets
	// the DefaultRole entry, or, without one, nothing: no decryption, no
	// high-risk permission, no whitelisted statement.
	Roles map[string]Role
	// DefaultRole names the entry of Roles for callers with no listed
	// role (masking.DefaultRole if empty).
	DefaultRole string
	// Principals override the roles' settings for principals by id: a
	// non-zero limit replaces theirs, NoBulk set refuses bulk reads,
	// Allow and Statements add to theirs.
	Principals map[string]Role
	// Whitelist is the whitelist's mode; Learn receives, in learn mode,
	// one JSON line per fingerprint and roles first seen (see Learned).
	Whitelist Mode
	Learn     io.Writer
	// Counter counts window budgets; nil counts them in process. When it
	// fails, OnUnavailable says what happens.
	Counter       Counter
	OnUnavailable Fallback
	// Approvers are the keys whose approvals (docs/format.md §11) are
	// trusted, and MaxApproval the longest an approval may last
	// (default 24h).
	Approvers   []note.Verifier
	MaxApproval time.Duration
	// Logger receives a warning for every block (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Guard checks statements against a Config. It is safe for concurrent use.
type Guard struct {
	roles       map[string]*role
	principals  map[string]*role
	defaultRole *role
	unlisted    *limits // a caller of no listed role
	mode        Mode
	learn       *learner
	learnW      io.Writer
	counter     Counter
	local       *MemoryCounter
	fallback    Fallback
	approvers   []note.Verifier
	maxApproval time.Duration
	tokens      *lru.Cache[string, tokenResult]
	leases      sync.Map // principal id → *lease
	others      sync.Map // leaseKey → *lease, for a principal's other windows
	newLeases   atomic.Int64
	log         *slog.Logger
	now         func() time.Time
	openWarned  atomic.Int64 // unix seconds of the last fail_open warning
}

// Close closes the Counter and the Learn writer of the guard's Config
// when they are io.Closers (those the YAML configuration makes are: a
// Redis client, the learn file). Closing the database handle of
// sqldriver.Wrap closes its guard, as it closes its audit sink.
func (g *Guard) Close() error {
	var errs []error
	for _, x := range []any{g.counter, g.learnW} {
		if c, ok := x.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// role is a validated Role.
type role struct {
	name         string
	perStatement int64 // 0 none set
	budget       Budget
	maxRows      int64
	noBulk       bool
	allow        uint16
	statements   map[string]struct{}
	alone        *limits // a caller of this role alone
}

// New validates c and returns its Guard.
func New(c Config) (*Guard, error) {
	g := &Guard{roles: map[string]*role{}, principals: map[string]*role{}, mode: c.Whitelist, counter: c.Counter,
		fallback: c.OnUnavailable, maxApproval: c.MaxApproval, log: c.Logger, now: c.Now}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.maxApproval == 0 {
		g.maxApproval = 24 * time.Hour
	}
	if g.maxApproval < 0 {
		return nil, fmt.Errorf("%w: negative max approval", ErrInvalidConfig)
	}
	g.local = NewMemoryCounter(g.now)
	if g.counter == nil {
		g.counter = g.local
	}
	if g.mode < WhitelistOff || g.mode > WhitelistEnforce {
		return nil, fmt.Errorf("%w: whitelist mode %d", ErrInvalidConfig, g.mode)
	}
	if g.mode == WhitelistLearn {
		if c.Learn == nil {
			return nil, fmt.Errorf("%w: learn mode needs somewhere to write (Learn)", ErrInvalidConfig)
		}
		g.learn, g.learnW = &learner{w: c.Learn}, c.Learn
	}
	if g.fallback < FailClosed || g.fallback > FailLocal {
		return nil, fmt.Errorf("%w: fallback %d", ErrInvalidConfig, g.fallback)
	}
	for name, r := range c.Roles {
		v, err := validRole(strings.ToLower(strings.TrimSpace(name)), r, false)
		if err != nil {
			return nil, err
		}
		if g.roles[v.name] != nil {
			return nil, fmt.Errorf("%w: two roles are named %s (names are case-insensitive)", ErrInvalidConfig, v.name)
		}
		g.roles[v.name] = v
	}
	for id, r := range c.Principals {
		if id == "" {
			return nil, fmt.Errorf("%w: a principal override has an empty id", ErrInvalidConfig)
		}
		v, err := validRole("principal "+id, r, true)
		if err != nil {
			return nil, err
		}
		g.principals[id] = v
	}
	def := strings.ToLower(c.DefaultRole)
	if def == "" {
		def = masking.DefaultRole
	}
	g.defaultRole = g.roles[def]
	for _, r := range g.roles {
		r.alone = g.combine(masking.Principal{Roles: []string{r.name}})
	}
	g.unlisted = g.combine(masking.Principal{})
	for _, v := range c.Approvers {
		if v == nil {
			return nil, fmt.Errorf("%w: a nil approver key", ErrInvalidConfig)
		}
	}
	g.approvers = slices.Clone(c.Approvers)
	var err error
	if g.tokens, err = lru.New[string, tokenResult](256); err != nil {
		return nil, err
	}

	return g, nil
}

func validRole(name string, r Role, override bool) (*role, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: a role has an empty name", ErrInvalidConfig)
	}
	low := int64(0)
	if override {
		low = Unlimited
	}
	for what, v := range map[string]int64{"per_statement": r.PerStatement, "max_rows": r.MaxRows, "budget": r.Budget.Values} {
		if v < low {
			return nil, fmt.Errorf("%w: %s: %s is negative", ErrInvalidConfig, name, what)
		}
	}
	if r.Budget.Values > 0 && r.Budget.Window < time.Second {
		return nil, fmt.Errorf("%w: %s: a budget's window must be at least 1s", ErrInvalidConfig, name)
	}
	v := &role{name: name, perStatement: r.PerStatement, budget: r.Budget, maxRows: r.MaxRows, noBulk: r.NoBulk, statements: map[string]struct{}{}}
	for _, a := range r.Allow {
		switch a {
		case RuleUpdateAll, RuleDeleteAll, RuleDrop, RuleTruncate, RuleAlter, RuleBulkSelect, RuleMaxRows:
			v.allow |= a.bit()
		default:
			return nil, fmt.Errorf("%w: %s: %q cannot be allowed (update_all, delete_all, drop, truncate, alter, bulk_select, max_rows; budgets and the whitelist are lifted by approvals)", ErrInvalidConfig, name, a)
		}
	}
	for _, fp := range r.Statements {
		if !isFingerprint(fp) {
			return nil, fmt.Errorf("%w: %s: %q is not a statement fingerprint (64 hex digits)", ErrInvalidConfig, name, fp)
		}
		v.statements[fp] = struct{}{}
	}
	return v, nil
}

func isFingerprint(s string) bool { return len(s) == 64 && isHex(s) }

// Kind is a statement's kind.
type Kind int

// Statement kinds.
const (
	KindOther Kind = iota
	KindSelect
	KindInsert
	KindUpdate
	KindDelete
	KindSchema
)

// SchemaOp is what a schema statement does to a protected table.
type SchemaOp int

// Schema operations the guard tells apart.
const (
	SchemaOther SchemaOp = iota // CREATE TABLE, indexes, …
	SchemaDrop
	SchemaTruncate
	SchemaAlter
)

// Statement is what the guard is told of a statement that touches a
// protected table; the driver fills it from the statement's plan.
type Statement struct {
	Kind   Kind
	Schema SchemaOp
	// Tables are the protected tables it touches.
	Tables []string
	// Reads reports that it returns protected columns.
	Reads bool
	// Where reports a WHERE clause that reads a column, on the
	// statement's own table(s); Limit a LIMIT.
	Where, Limit bool
	// Fingerprint and Shape are the statement's (docs/format.md §10).
	Fingerprint, Shape string
}

// limits are a caller's combined settings; -1 means no limit.
type limits struct {
	perStatement, maxRows int64
	perRole, rowsRole     string
	budget                Budget // Values -1: none
	budgetRole            string
	noBulk                bool
	allow                 uint16
	// The roles whose statements are whitelisted: the first few inline.
	inline   [3]*role
	nroles   int
	more     []*role
	override *role
	known    bool
}

// resolve combines pr's roles and override.
func (g *Guard) resolve(pr masking.Principal) *limits {
	// The common case, made once in New: one role, or none the guard
	// lists, and no principal override.
	if len(g.principals) == 0 || g.principals[pr.ID] == nil {
		switch len(pr.Roles) {
		case 0:
			return g.unlisted
		case 1:
			if r := g.roles[pr.Roles[0]]; r != nil {
				return r.alone
			}
		}
	}
	return g.combine(pr)
}

// combine combines pr's roles and override.
func (g *Guard) combine(pr masking.Principal) *limits {
	l := &limits{perStatement: -1, maxRows: -1, budget: Budget{Values: -1}, noBulk: true}
	for _, name := range pr.Roles {
		r := g.roles[strings.ToLower(name)]
		if r == nil {
			continue
		}
		l.add(r)
	}
	if !l.known && g.defaultRole != nil {
		l.add(g.defaultRole)
	}
	if !l.known {
		l = &limits{perStatement: 0, maxRows: -1, budget: Budget{Values: -1}, noBulk: true, perRole: "(no guard role)"}
	}
	if o := g.principals[pr.ID]; o != nil {
		l.override = o
		if o.perStatement != 0 {
			l.perStatement, l.perRole = max(o.perStatement, -1), o.name
		}
		if o.maxRows != 0 {
			l.maxRows, l.rowsRole = max(o.maxRows, -1), o.name
		}
		if o.budget.Values != 0 {
			l.budget, l.budgetRole = o.budget, o.name
			if o.budget.Values < 0 {
				l.budget = Budget{Values: -1}
			}
		}
		l.noBulk = l.noBulk || o.noBulk
		l.allow |= o.allow
	}
	return l
}

// add combines r into l, most permissively: a role with no limit lifts
// the limit; otherwise the largest wins.
func (l *limits) add(r *role) {
	first := !l.known
	l.known = true
	if l.nroles < len(l.inline) {
		l.inline[l.nroles] = r
		l.nroles++
	} else {
		l.more = append(l.more, r)
	}
	wider := func(cur *int64, curRole *string, v int64) {
		if v == 0 {
			*cur, *curRole = -1, ""
			return
		}
		if first || (*cur >= 0 && v > *cur) {
			*cur, *curRole = v, r.name
		}
	}
	wider(&l.perStatement, &l.perRole, r.perStatement)
	wider(&l.maxRows, &l.rowsRole, r.maxRows)
	switch {
	case r.budget.Values == 0:
		l.budget, l.budgetRole = Budget{Values: -1}, ""
	case first || (l.budget.Values >= 0 && rate(r.budget) > rate(l.budget)):
		l.budget, l.budgetRole = r.budget, r.name
	}
	l.noBulk = l.noBulk && r.noBulk
	if first {
		l.noBulk = r.noBulk
	}
	l.allow |= r.allow
}

func rate(b Budget) float64 { return float64(b.Values) / b.Window.Seconds() }

func (l *limits) whitelisted(fp string) bool {
	for _, r := range l.inline[:l.nroles] {
		if _, ok := r.statements[fp]; ok {
			return true
		}
	}
	for _, r := range l.more {
		if _, ok := r.statements[fp]; ok {
			return true
		}
	}
	if l.override != nil {
		_, ok := l.override.statements[fp]
		return ok
	}
	return false
}

// Admit checks a statement of principal pr before it runs: the whitelist
// and the high-risk rules. It returns the statement's Use, through which
// the driver meters its result, or the *Error of the block. Approvals
// in ctx (WithApproval) are verified only when a rule would block.
func (g *Guard) Admit(ctx context.Context, pr masking.Principal, st *Statement) (*Use, error) {
	u := &Use{g: g, ctx: ctx, pr: pr, st: *st, lim: g.resolve(pr)}
	if g.mode == WhitelistLearn {
		g.learn.record(g, pr, st)
	}
	if g.mode == WhitelistEnforce && !u.lim.whitelisted(st.Fingerprint) {
		if err := u.lift(RuleWhitelist, ErrNotAllowed, "", 0); err != nil {
			return nil, err
		}
	}
	if r := highRisk(st, u.lim); r != "" && u.lim.allow&r.bit() == 0 {
		if err := u.lift(r, ErrHighRisk, "", 0); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// highRisk returns the high-risk rule st breaks, or "".
func highRisk(st *Statement, l *limits) Rule {
	switch st.Kind {
	case KindUpdate:
		if !st.Where {
			return RuleUpdateAll
		}
	case KindDelete:
		if !st.Where {
			return RuleDeleteAll
		}
	case KindSchema:
		switch st.Schema {
		case SchemaDrop:
			return RuleDrop
		case SchemaTruncate:
			return RuleTruncate
		case SchemaAlter:
			return RuleAlter
		}
	case KindSelect:
		if st.Reads && !st.Where && !st.Limit && l.noBulk {
			return RuleBulkSelect
		}
	}
	return ""
}

// Use meters one admitted statement's result. Its methods are safe for
// concurrent use.
type Use struct {
	g   *Guard
	ctx context.Context
	pr  masking.Principal
	st  Statement
	lim *limits // shared: read only

	mu     sync.Mutex
	lifted uint16
	lifts  []Lift
	rows   int64
	shown  int64
	open   bool   // the counter failed and this use is fail_open
	lease  *lease // the principal's window lease, once looked up
}

// lift returns nil when an approval in the context lifts rule for the
// caller (recording it), or the block's *Error.
func (u *Use) lift(rule Rule, reason error, column string, limit int64) error {
	if u.lifted&rule.bit() != 0 {
		return nil
	}
	a, aerr := u.g.approved(u.ctx, u.pr.ID, rule)
	if a != nil {
		u.lifted |= rule.bit()
		u.lifts = append(u.lifts, Lift{Rule: rule, Approval: a})
		return nil
	}
	e := &Error{Rule: rule, Reason: reason, Column: column, Limit: limit, Approval: aerr, Lifted: slices.Clone(u.lifts)}
	switch rule {
	case RuleStatementBudget:
		e.Role = u.lim.perRole
	case RuleMaxRows:
		e.Role = u.lim.rowsRole
	case RuleWindowBudget:
		e.Role, e.Window = u.lim.budgetRole, u.lim.budget.Window
	}
	u.g.warn(u.pr, &u.st, e)
	return e
}

func (g *Guard) warn(pr masking.Principal, st *Statement, e *Error) {
	attrs := []any{"rule", string(e.Rule), "principal", pr.ID, "roles", pr.Roles, "fingerprint", st.Fingerprint, "tables", st.Tables}
	if e.Role != "" {
		attrs = append(attrs, "role", e.Role)
	}
	if e.Column != "" {
		attrs = append(attrs, "column", e.Column, "limit", e.Limit)
	}
	if e.Approval != nil {
		attrs = append(attrs, "approval", e.Approval.Error())
	}
	if e.Err != nil {
		attrs = append(attrs, "error", e.Err.Error())
	}
	g.log.LogAttrs(context.Background(), slog.LevelWarn, "gmfield/guard: blocked: "+e.Reason.Error(), slog.Group("guard", attrs...))
}

// Lift is a rule an approval lifted for a statement.
type Lift struct {
	Rule     Rule
	Approval *Approval
}

// Lifts returns the rules approvals lifted for the statement, for its
// audit event.
func (u *Use) Lifts() []Lift {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.lifts)
}

// Row is called before the driver decrypts a row of the result: need is
// the number of protected values it would decrypt and column the first
// of their columns (table.column). It returns the block's *Error when the
// row would pass a budget or MaxRows; the driver then decrypts nothing
// of the row and ends the result.
func (u *Use) Row(need int64, column string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rows++
	if l := u.lim.maxRows; l >= 0 && u.rows > l {
		if err := u.lift(RuleMaxRows, ErrHighRisk, "", l); err != nil {
			return err
		}
	}
	if need == 0 {
		return nil
	}
	if l := u.lim.perStatement; l >= 0 && u.shown+need > l {
		if err := u.lift(RuleStatementBudget, ErrBudgetExceeded, column, l); err != nil {
			return err
		}
	}
	if err := u.window(need, column); err != nil {
		return err
	}
	u.shown += need
	return nil
}

// A lease is window budget one instance has taken from the Counter for
// one principal and window and not yet used: the principal's statements
// in this process draw on it, so that most rows need no call to a shared
// store. It lasts half a slot (Slots counts one slot more than a window
// for this), and what is left when it ends is given back. The budget
// taken ahead grows while the principal uses it, up to maxBatch.
type lease struct {
	mu                     sync.Mutex
	allowance, slot, batch int64
	until                  time.Time
	local                  bool   // taken from the in-process fallback
	budget                 Budget // what it was taken for
}

type leaseKey struct {
	principal string
	budget    Budget
}

// maxBatch bounds the window budget one lease takes ahead: at most 1024
// values, and a sixteenth of the budget, so that instances holding
// leases leave each other most of it.
func maxBatch(b Budget) int64 { return max(min(1024, b.Values/16), 1) }

func (g *Guard) lease(principal string, b Budget) *lease {
	// By principal first (a principal's budget is most often one), then,
	// for a principal whose roles give several, by principal and budget:
	// a lease serves only the budget it was taken for.
	if v, ok := g.leases.Load(principal); ok {
		if l := v.(*lease); l.budget == b {
			return l
		}
	} else {
		v, loaded := g.leases.LoadOrStore(principal, &lease{budget: b})
		if !loaded && g.newLeases.Add(1)%1024 == 0 {
			g.sweep()
		}
		if l := v.(*lease); l.budget == b {
			return l
		}
	}
	v, _ := g.others.LoadOrStore(leaseKey{principal, b}, &lease{budget: b})
	return v.(*lease)
}

// sweep forgets the leases that have ended: a principal's next statement
// starts a new one. What an ended lease still held is not given back
// (that would wait on the store for every one): its principal's budget
// is only the smaller for it until the window passes.
func (g *Guard) sweep() {
	now := g.now()
	for _, m := range []*sync.Map{&g.leases, &g.others} {
		m.Range(func(k, v any) bool {
			l := v.(*lease)
			l.mu.Lock()
			if !now.Before(l.until) {
				m.Delete(k)
			}
			l.mu.Unlock()
			return true
		})
	}
}

// windowBit is window_budget's bit, looked up once: window runs per row.
var windowBit = RuleWindowBudget.bit()

// window takes need values of the window budget.
func (u *Use) window(need int64, column string) error {
	b := u.lim.budget
	if b.Values < 0 || u.lifted&windowBit != 0 || u.open {
		return nil
	}
	if u.lease == nil {
		u.lease = u.g.lease(u.pr.ID, b)
	}
	l := u.lease
	l.mu.Lock()
	defer l.mu.Unlock()
	now := u.g.now()
	if !now.Before(l.until) && l.allowance > 0 {
		// The lease ended: give back what is left, and take less ahead.
		u.g.give(u.ctx, l, u.pr.ID, b.Window)
	}
	if l.allowance >= need {
		l.allowance -= need
		return nil
	}
	want := need - l.allowance
	n := max(want, l.batch)
	slot, ok, err := u.take(l, n, b)
	if err == nil && !ok && n > want {
		n = want
		slot, ok, err = u.take(l, n, b)
	}
	if err != nil {
		if u.g.fallback == FailOpen {
			u.g.warnOpen(err)
			u.open = true
			return nil
		}
		e := &Error{Rule: RuleWindowBudget, Reason: ErrUnavailable, Role: u.lim.budgetRole, Column: column, Err: err, Lifted: slices.Clone(u.lifts)}
		u.g.warn(u.pr, &u.st, e)
		return e
	}
	if !ok {
		return u.lift(RuleWindowBudget, ErrBudgetExceeded, column, b.Values)
	}
	l.allowance, l.slot, l.until = l.allowance+n-need, slot, now.Add(SlotWidth(b.Window)/2)
	l.batch = min(max(2*l.batch, need), maxBatch(b))
	return nil
}

// take takes n for lease l from the counter, or from the in-process one
// when the counter fails and the fallback is local.
func (u *Use) take(l *lease, n int64, b Budget) (int64, bool, error) {
	// The store's own timeout bounds the call; a statement whose context
	// is ending does not make a store that answers look unavailable.
	ctx := context.WithoutCancel(u.ctx)
	slot, ok, err := u.g.counter.Take(ctx, u.pr.ID, n, b.Values, b.Window)
	l.local = false
	if err != nil && u.g.fallback == FailLocal {
		u.g.warnOpen(err)
		l.local = true
		return u.g.local.Take(ctx, u.pr.ID, n, b.Values, b.Window)
	}
	return slot, ok, err
}

// give gives back what is left of lease l, whose lease ended.
func (g *Guard) give(ctx context.Context, l *lease, principal string, window time.Duration) {
	c := g.counter
	if l.local {
		c = g.local
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := c.Give(ctx, principal, l.slot, l.allowance, window); err != nil {
		g.log.Warn("gmfield/guard: could not give back unused window budget", "error", err.Error())
	}
	l.batch = max(l.batch-l.allowance, 1)
	l.allowance = 0
}

func (g *Guard) warnOpen(err error) {
	now := g.now().Unix()
	if last := g.openWarned.Load(); now-last < 10 || !g.openWarned.CompareAndSwap(last, now) {
		return
	}
	g.log.Warn("gmfield/guard: the budget store did not answer; window budgets are "+map[Fallback]string{FailOpen: "not counted", FailLocal: "counted in this process"}[g.fallback],
		"error", err.Error())
}
