// Package schema holds the ent schema of the example.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"

	"github.com/gmfield/gmfield/examples/ent/pii"
)

// Citizen is a row of ent_citizen. Its id is a UUID the client generates
// (uuid.New), not an auto-increment: the gmfield driver binds the row key
// into every protected value, so it must be known at INSERT time.
//
// The blind-index columns (id_no_bidx, phone_bidx) are not fields: the
// driver fills them, and the migration adds them (see main.go).
type Citizen struct {
	ent.Schema
}

// Annotations of the Citizen.
func (Citizen) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "ent_citizen"}}
}

// Fields of the Citizen.
func (Citizen) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("id", uuid.UUID{}).Default(uuid.New).Immutable(),
		field.String("id_no").GoType(pii.IDNumber("")), // protected, blind index id_no_bidx
		field.String("phone").Optional().Nillable(),    // protected, *string, blind index phone_bidx
		field.String("name"),                           // protected, masked as a Chinese name
		field.String("city").Optional(),                // not protected
	}
}

// Edges of the Citizen.
func (Citizen) Edges() []ent.Edge {
	return nil
}
