package sqldriver

import (
	"context"

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
func (s *schema) check(ctx context.Context, pr masking.Principal, p *sqlplan.Plan) (*guard.Use, error) {
	if s.guard == nil {
		return nil, nil
	}
	st := &guard.Statement{Kind: guardKinds[p.Kind], Schema: guardSchema[p.Schema], Tables: p.Tables, Where: p.Where, Limit: p.Limit,
		Fingerprint: p.Fingerprint, Shape: p.Shape}
	for _, u := range p.Uses {
		st.Reads = st.Reads || u.Kind == sqlplan.UseRead
	}
	return s.guard.Admit(ctx, pr, st)
}
