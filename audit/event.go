// Package audit records who saw, searched and changed protected data
// (全留痕、可追溯): the events the gmfield driver emits, one per statement
// that touches a protected table, and the sinks that keep them. Log is a
// tamper-evident log: events are the leaves of a Merkle tree with SM3 as
// its hash (RFC 6962 structure), and its checkpoints are signed with SM2,
// so that anyone holding the public key can verify the log and check an
// inclusion proof (docs/format.md §9, docs/audit.md). SlogSink ships
// events to an existing log pipeline, and Fanout writes to several sinks.
//
// An event never holds a value, an SQL literal or a key.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Sink receives the events of the driver (sqldriver.Config.Audit).
// Record is called once per statement, after its rows are consumed or it
// failed; an error from Record fails the statement. Implementations are
// safe for concurrent use.
type Sink interface {
	Record(ctx context.Context, e *Event) error
}

// Gate is implemented by sinks that can refuse a statement before it
// runs: the driver calls Reserve first, and a statement whose sink cannot
// take its event (closed, a full queue, a failing store) fails without
// running. Reserve may set room aside for the event: Record, which the
// driver then always calls, uses it; Release gives it back when Record
// will not come.
type Gate interface {
	Reserve() error
	Release()
}

// Errors of the audit package. Test for them with errors.Is.
var (
	// ErrQueueFull: an asynchronous log's queue is full; the statement
	// fails rather than its event being dropped.
	ErrQueueFull = errors.New("gmfield/audit: queue full")
	// ErrUnavailable: the log cannot write (its store fails, or it is
	// closed); statements fail until it can.
	ErrUnavailable = errors.New("gmfield/audit: log unavailable")
	// ErrCorrupt: stored log data does not parse or does not agree with
	// itself, so the log refuses to extend it.
	ErrCorrupt = errors.New("gmfield/audit: log data corrupt")
	// ErrTampered: verification found the log altered (see *Report).
	ErrTampered = errors.New("gmfield/audit: log does not verify")
	// ErrInvalid: a bad argument or option.
	ErrInvalid = errors.New("gmfield/audit: invalid argument")
)

// Outcome is how a statement ended.
type Outcome string

// Outcomes.
const (
	OK          Outcome = "ok"
	Refused     Outcome = "refused"      // the driver refused the statement (sqldriver.ErrRefused)
	Denied      Outcome = "denied"       // the policy denied the caller (masking.ErrDenied)
	OpenError   Outcome = "open_error"   // a stored value did not open (sqldriver.ErrOpen)
	Blocked     Outcome = "blocked"      // the guard blocked the statement or stopped its result (guard.ErrBlocked)
	DriverError Outcome = "driver_error" // the database failed the statement
	Error       Outcome = "error"        // any other failure (a bad value, no tenant, the key ring)
)

// Column is a protected column a statement touched and what was done
// with it: "plain", "mask", "hash", "null", "deny" (reads, by the
// caller's policy), "write", "search" or "index".
type Column struct {
	Column string `json:"c"` // table.column
	Action string `json:"a"`
}

// Grant is a time-limited grant that raised an action for the statement
// (Role or Column, and Action), or an approval that lifted a guard rule
// for it (Rule).
type Grant struct {
	Role    string    `json:"role,omitempty"`
	Column  string    `json:"column,omitempty"`
	Rule    string    `json:"rule,omitempty"`
	Action  string    `json:"action,omitempty"`
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires"`
}

// Event is the record of one statement on protected tables
// (docs/format.md §9.1).
type Event struct {
	// Index is the event's position in a log, and Writer the id of the
	// Log that wrote it (random, one per OpenDir or OpenTable); set when
	// read back, ignored by Record.
	Index  uint64
	Writer string
	// Time is when the statement ended.
	Time time.Time
	// Instance names the application instance.
	Instance string
	// Principal, Roles and Grants are the caller's (masking.Principal).
	Principal string
	Roles     []string
	Grants    []Grant
	// Kind is "select", "insert", "update", "delete", "ddl" or "other".
	Kind string
	// Fingerprint and Shape identify the statement without its values
	// (docs/format.md §10); empty when it could not be read.
	Fingerprint, Shape string
	// Tables and Columns are the protected tables and columns touched.
	Tables  []string
	Columns []Column
	// Rows is the number of rows returned or affected; Decrypted the
	// number of protected values opened.
	Rows, Decrypted int64
	// Outcome is how the statement ended, and Reason, for a failure, the
	// name of its sentinel error (never a value).
	Outcome Outcome
	Reason  string
	// Rule names the guard rule of a blocked statement.
	Rule string
}

// MaxShape is the longest shape an event keeps; a longer one is cut.
const MaxShape = 4096

// body is an event's members after "v" and "i", in the order of
// docs/format.md §9.1: what ParseEvent reads, and what appendBody
// writes without reflection.
type body struct {
	Time        string   `json:"t"`
	Instance    string   `json:"instance"`
	Principal   string   `json:"principal"`
	Roles       []string `json:"roles"`
	Grants      []Grant  `json:"grants,omitempty"`
	Kind        string   `json:"kind"`
	Fingerprint string   `json:"fp,omitempty"`
	Shape       string   `json:"shape,omitempty"`
	Tables      []string `json:"tables"`
	Columns     []Column `json:"columns"`
	Rows        int64    `json:"rows"`
	Decrypted   int64    `json:"decrypted"`
	Outcome     Outcome  `json:"outcome"`
	Reason      string   `json:"reason,omitempty"`
	Rule        string   `json:"rule,omitempty"`
}

// encodeBody returns e's JSON members after "v" and "i", as an object.
func encodeBody(e *Event) ([]byte, error) { return appendBody(make([]byte, 0, 512), e), nil }

// leafBytes makes the leaf of index i by writer w from an encoded body.
func leafBytes(dst []byte, i uint64, w string, body []byte) []byte {
	return append(appendHead(dst, i, w), body[1:]...)
}

// ParseEvent parses a leaf of a log (docs/format.md §9.1).
func ParseEvent(leaf []byte) (*Event, error) {
	var raw struct {
		V *int    `json:"v"`
		I *uint64 `json:"i"`
		W string  `json:"w"`
		body
	}
	if err := json.Unmarshal(leaf, &raw); err != nil {
		return nil, fmt.Errorf("%w: leaf is not a JSON event: %v", ErrCorrupt, err)
	}
	if raw.V == nil || *raw.V != 1 || raw.I == nil {
		return nil, fmt.Errorf("%w: leaf has no version 1 or no index", ErrCorrupt)
	}
	t, err := time.Parse(time.RFC3339Nano, raw.Time)
	if err != nil {
		return nil, fmt.Errorf("%w: leaf time: %v", ErrCorrupt, err)
	}
	b := raw.body
	return &Event{Index: *raw.I, Writer: raw.W, Time: t, Instance: b.Instance, Principal: b.Principal, Roles: b.Roles, Grants: b.Grants,
		Kind: b.Kind, Fingerprint: b.Fingerprint, Shape: b.Shape, Tables: b.Tables, Columns: b.Columns, Rows: b.Rows,
		Decrypted: b.Decrypted, Outcome: b.Outcome, Reason: b.Reason, Rule: b.Rule}, nil
}
