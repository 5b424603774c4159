package analysis

import (
	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// ErrRewrite refuses a statement whose rewritten text does not check:
// the rewrite must parse again as one statement of the same kind, with
// one placeholder per slot and the planned result columns.
var ErrRewrite = sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", "the rewritten statement does not check")

// Check compares the rewritten statement again (with placeholders
// placeholders) with the original orig and its plan.
func Check(orig, again *sqlir.Stmt, placeholders int, plan *sqlplan.Plan) error {
	if again.Kind != orig.Kind || placeholders != len(plan.Slots) || resultCount(again) != resultCount(orig)+plan.Hidden {
		return ErrRewrite
	}
	return nil
}

// resultCount is the number of result columns of a statement: select
// items, or RETURNING items.
func resultCount(st *sqlir.Stmt) int {
	switch {
	case st.Query != nil:
		return len(st.Query.Items)
	case st.Insert != nil:
		return len(st.Insert.Returning)
	case st.Update != nil:
		return len(st.Update.Returning)
	case st.Delete != nil:
		return len(st.Delete.Returning)
	}
	return 0
}
