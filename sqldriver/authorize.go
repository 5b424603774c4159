package sqldriver

import (
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
func (s *schema) authorize(pr masking.Principal, p *sqlplan.Plan) error {
	for _, u := range p.Uses {
		a := s.policy.Decide(pr, u.Table, u.Column)
		switch u.Kind {
		case sqlplan.UseRead:
			if a == masking.ActionDeny {
				return fmt.Errorf("%w: %s.%s", masking.ErrDenied, u.Table, u.Column)
			}
		case sqlplan.UseSearch:
			if a < masking.ActionHash {
				return fmt.Errorf("%w: search on %s.%s", masking.ErrDenied, u.Table, u.Column)
			}
		case sqlplan.UseIndex:
			if a < masking.ActionHash {
				return fmt.Errorf("%w: blind index of %s.%s", masking.ErrDenied, u.Table, u.Column)
			}
		}
	}
	return nil
}
