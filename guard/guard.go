// Package guard limits what callers of the gmfield driver may do with
// protected data (白名单控制, 高危操作及时阻断): a per-role whitelist of
// statement fingerprints, decryption budgets per statement and per
// principal per time window, the refusal of high-risk statements
// (UPDATE or DELETE of every row, DROP, TRUNCATE and ALTER of a protected
// table, bulk reads, results of too many rows), and SM2-signed approvals
// that lift a rule for one principal for a time (事前管审批).
//
// The driver (sqldriver.Config.Guard) asks a Guard to Admit each
// statement that touches a protected table, and asks the statement's Use,
// before it decrypts each row, whether the row fits the budgets. A
// blocked statement fails with an *Error that wraps ErrBlocked and the
// rule's sentinel (ErrNotAllowed, ErrHighRisk, ErrBudgetExceeded,
// ErrUnavailable); an error never holds a value. Budgets are counted in
// process, or for a fleet of instances in a shared Counter
// (guard/redisbudget). See docs/guard.md.
package guard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule names a guard rule: what an *Error, an audit event, an Allow list
// and an approval call it.
type Rule string

// The rules.
const (
	// RuleWhitelist: in enforce mode, a statement whose fingerprint is
	// not in the caller's roles' Statements.
	RuleWhitelist Rule = "whitelist"
	// RuleUpdateAll: an UPDATE of a protected table with no WHERE (or a
	// WHERE that reads no column, such as WHERE 1=1).
	RuleUpdateAll Rule = "update_all"
	// RuleDeleteAll: a DELETE of a protected table with no WHERE.
	RuleDeleteAll Rule = "delete_all"
	// RuleDrop: DROP TABLE of a protected table.
	RuleDrop Rule = "drop"
	// RuleTruncate: TRUNCATE of a protected table.
	RuleTruncate Rule = "truncate"
	// RuleAlter: ALTER TABLE of a protected table.
	RuleAlter Rule = "alter"
	// RuleBulkSelect: for roles marked NoBulk, a SELECT that reads
	// protected columns with neither a WHERE nor a LIMIT.
	RuleBulkSelect Rule = "bulk_select"
	// RuleMaxRows: a result with protected columns of more than MaxRows
	// rows.
	RuleMaxRows Rule = "max_rows"
	// RuleStatementBudget: more than PerStatement protected values
	// decrypted by one statement.
	RuleStatementBudget Rule = "statement_budget"
	// RuleWindowBudget: more than Budget.Values protected values
	// decrypted by one principal in Budget.Window.
	RuleWindowBudget Rule = "window_budget"
)

// Rules lists every rule, in the ascending order approvals write them.
var Rules = []Rule{RuleAlter, RuleBulkSelect, RuleDeleteAll, RuleDrop, RuleMaxRows, RuleStatementBudget, RuleTruncate, RuleUpdateAll, RuleWhitelist, RuleWindowBudget}

// ParseRule returns the rule named s.
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: unknown rule %q", ErrInvalidConfig, s)
}

func (r Rule) bit() uint16 {
	for i, x := range Rules {
		if x == r {
			return 1 << i
		}
	}
	return 0
}

// Errors of the guard. Test for them with errors.Is.
var (
	// ErrBlocked is wrapped by every error of a blocked statement.
	ErrBlocked = errors.New("gmfield/guard: blocked")
	// ErrNotAllowed: the statement's fingerprint is not in the caller's
	// whitelist (enforce mode).
	ErrNotAllowed = errors.New("gmfield/guard: statement not in the whitelist")
	// ErrHighRisk: a high-risk statement the caller's roles have no
	// permission for, or a result of more rows than allowed.
	ErrHighRisk = errors.New("gmfield/guard: high-risk statement")
	// ErrBudgetExceeded: the statement would decrypt more protected
	// values than a budget allows; no value past the budget is decrypted.
	ErrBudgetExceeded = errors.New("gmfield/guard: decryption budget exceeded")
	// ErrUnavailable: the shared budget store did not answer and the
	// guard fails closed.
	ErrUnavailable = errors.New("gmfield/guard: budget store unavailable")
	// ErrApprovalInvalid: an approval token that does not decode, parse
	// or verify with a trusted approver key, or that names another
	// principal or lasts longer than allowed.
	ErrApprovalInvalid = errors.New("gmfield/guard: approval invalid")
	// ErrApprovalExpired: an approval used outside its validity.
	ErrApprovalExpired = errors.New("gmfield/guard: approval expired")
	// ErrInvalidConfig: a guard configuration that does not validate.
	ErrInvalidConfig = errors.New("gmfield/guard: invalid configuration")
)

// Error is the error of a blocked statement. It names the rule, the role
// whose limit applied, the column and the limit; never a value.
type Error struct {
	Rule Rule
	// Reason is ErrNotAllowed, ErrHighRisk, ErrBudgetExceeded or
	// ErrUnavailable.
	Reason error
	// Role is the role (or "principal <id>") whose setting applied;
	// "(no guard role)" for a caller none of whose roles the guard knows.
	Role string
	// Column is the protected column whose value would have gone past a
	// budget (table.column), for budget rules.
	Column string
	// Limit is the limit that applied (budgets, max_rows), and Window a
	// window budget's window.
	Limit  int64
	Window time.Duration
	// Approval says why an approval token the caller presented did not
	// lift the rule (wrapping ErrApprovalInvalid or ErrApprovalExpired);
	// nil when none was presented for it.
	Approval error
	// Err is the budget store's failure, for ErrUnavailable.
	Err error
	// Lifted are the rules approvals had lifted for the statement before
	// it was blocked, for its audit event.
	Lifted []Lift
}

// Error describes the block.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason.Error())
	b.WriteString(": rule ")
	b.WriteString(string(e.Rule))
	if e.Role != "" {
		b.WriteString(", role ")
		b.WriteString(e.Role)
	}
	if e.Column != "" {
		b.WriteString(", column ")
		b.WriteString(e.Column)
	}
	switch e.Rule {
	case RuleMaxRows, RuleStatementBudget:
		b.WriteString(", limit ")
		b.WriteString(strconv.FormatInt(e.Limit, 10))
	case RuleWindowBudget:
		if !errors.Is(e.Reason, ErrUnavailable) {
			fmt.Fprintf(&b, ", limit %d per %s", e.Limit, e.Window)
		}
	}
	if e.Approval != nil {
		b.WriteString("; ")
		b.WriteString(e.Approval.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrBlocked, the reason, and the approval's and store's
// errors when there are.
func (e *Error) Unwrap() []error {
	errs := []error{ErrBlocked, e.Reason}
	if e.Approval != nil {
		errs = append(errs, e.Approval)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Unlimited, as a limit of a Principal override, removes the roles' limit.
const Unlimited = -1

// Budget is a window budget: at most Values protected values decrypted
// by one principal in any Window.
type Budget struct {
	Values int64
	Window time.Duration
}

// ParseBudget parses "N/window", such as "2000/10m".
func ParseBudget(s string) (Budget, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if !ok || err != nil || v < 0 {
		return Budget{}, fmt.Errorf("%w: budget %q must be written values/window, such as 2000/10m", ErrInvalidConfig, s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || d < time.Second {
		return Budget{}, fmt.Errorf("%w: budget %q: the window must be a duration of at least 1s", ErrInvalidConfig, s)
	}
	return Budget{Values: v, Window: d}, nil
}

// String writes b as ParseBudget reads it.
func (b Budget) String() string { return strconv.FormatInt(b.Values, 10) + "/" + b.Window.String() }

// Role is what the guard allows one role (or, in Config.Principals, one
// principal). A zero limit means none; in Config.Principals it means the
// roles' limit, and Unlimited removes it.
type Role struct {
	// PerStatement is the most protected values one statement may
	// decrypt (plain or mask).
	PerStatement int64
	// Budget is the most protected values one principal may decrypt in
	// a window; it is counted per principal, across statements, and in
	// Config.Counter when set.
	Budget Budget
	// MaxRows is the most rows of a result with protected columns.
	MaxRows int64
	// NoBulk refuses SELECTs of protected columns with neither a WHERE
	// nor a LIMIT (bulk: false in YAML).
	NoBulk bool
	// Allow lists the high-risk rules the role may break: update_all,
	// delete_all, drop, truncate, alter, bulk_select, max_rows.
	Allow []Rule
	// Statements are the fingerprints (docs/format.md §10) the role may
	// run in enforce mode.
	Statements []string
}

// Mode is how the whitelist works.
type Mode int

// Whitelist modes.
const (
	// WhitelistOff: no whitelist.
	WhitelistOff Mode = iota
	// WhitelistLearn: every statement passes, and the fingerprints not
	// yet seen are written to Config.Learn.
	WhitelistLearn
	// WhitelistEnforce: a statement whose fingerprint none of the
	// caller's roles lists is refused with ErrNotAllowed.
	WhitelistEnforce
)

// ParseMode returns the mode named off, learn or enforce.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "off":
		return WhitelistOff, nil
	case "learn":
		return WhitelistLearn, nil
	case "enforce":
		return WhitelistEnforce, nil
	}
	return 0, fmt.Errorf("%w: whitelist mode %q (off, learn, enforce)", ErrInvalidConfig, s)
}

// Fallback is what a window budget does when its Counter fails.
type Fallback int

// Fallbacks.
const (
	// FailClosed blocks the statement with ErrUnavailable.
	FailClosed Fallback = iota
	// FailOpen lets the values through uncounted, with a warning.
	FailOpen
	// FailLocal counts them in process, so each instance holds the
	// budget by itself until the store answers again.
	FailLocal
)

// ParseFallback returns the fallback named fail_closed, fail_open or local.
func ParseFallback(s string) (Fallback, error) {
	switch s {
	case "fail_closed":
		return FailClosed, nil
	case "fail_open":
		return FailOpen, nil
	case "local":
		return FailLocal, nil
	}
	return 0, fmt.Errorf("%w: on_unavailable %q (fail_closed, fail_open, local)", ErrInvalidConfig, s)
}
