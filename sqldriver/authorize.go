package sqldriver

import (
	"context"
	"fmt"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// authorize fails a statement before it runs when the caller may not do
// what it does with a protected column: read one it is denied (by name,
// or through *), or search one, or refer anywhere to one's blind index,
// without being allowed at least hash on it. A search or an index is an
// oracle for the value, so callers whose action is null or deny may use
// neither.
func (s *schema) authorize(ctx context.Context, pr masking.Principal, p *sqlplan.Plan) error {
	for _, u := range p.Uses {
		a := s.policy.Decide(pr, u.Table, u.Column)
		var what string
		switch u.Kind {
		case sqlplan.UseRead:
			if a != masking.ActionDeny {
				continue
			}
		case sqlplan.UseSearch:
			if a >= masking.ActionHash {
				continue
			}
			what = "search on "
		case sqlplan.UseIndex:
			if a >= masking.ActionHash {
				continue
			}
			what = "blind index of "
		default:
			continue
		}
		if pc := s.col(u.Table, u.Column); pc != nil {
			s.tel.value(ctx, pc, valueDenied, 1)
		}
		return fmt.Errorf("%w: %s%s.%s", masking.ErrDenied, what, u.Table, u.Column)
	}
	return nil
}
