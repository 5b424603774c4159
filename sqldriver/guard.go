package sqldriver

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

var guardKinds = map[sqlplan.Kind]guard.Kind{sqlplan.KindSelect: guard.KindSelect, sqlplan.KindInsert: guard.KindInsert,
	sqlplan.KindUpdate: guard.KindUpdate, sqlplan.KindDelete: guard.KindDelete, sqlplan.KindDDL: guard.KindSchema}

var guardSchema = map[sqlplan.SchemaOp]guard.SchemaOp{sqlplan.SchemaDrop: guard.SchemaDrop, sqlplan.SchemaTruncate: guard.SchemaTruncate,
	sqlplan.SchemaAlter: guard.SchemaAlter}

// check admits a protected statement through the guard (nil, nil without
// one): the whitelist and the high-risk rules. The Use it returns meters
// the statement's result.
func (s *schema) check(ctx context.Context, pr masking.Principal, p *sqlplan.Plan, args []driver.NamedValue) (*guard.Use, error) {
	if s.guard == nil {
		return nil, nil
	}
	limit := p.Limit
	if limit && p.LimitArg >= 0 {
		limit = p.LimitArg < len(args) && boundsRows(&args[p.LimitArg])
	}
	st := &guard.Statement{Kind: guardKinds[p.Kind], Schema: guardSchema[p.Schema], Tables: p.Tables, Where: p.Where, Limit: limit,
		Fingerprint: p.Fingerprint, Shape: p.Shape}
	if p.ExactFingerprint != "" {
		st.Fingerprint = p.ExactFingerprint
	}
	for _, u := range p.Uses {
		st.Reads = st.Reads || u.Kind == sqlplan.UseRead
	}
	return s.guard.Admit(ctx, pr, st)
}

// boundsRows reports whether a LIMIT argument bounds the rows: an
// integer of at least 0 (a negative one is no limit on SQLite, NULL none
// on PostgreSQL). A driver.Valuer is read once, here, and its value is
// what the statement is sent with: a Valuer read again could give
// another.
func boundsRows(arg *driver.NamedValue) bool {
	v, err := argValue(arg.Value)
	if err != nil {
		return false
	}
	arg.Value = v
	switch x := v.(type) {
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return err == nil && n >= 0
	case []byte:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return err == nil && n >= 0
	default:
		s, ok := asInt(x)
		return ok && !strings.HasPrefix(s, "-")
	}
}
