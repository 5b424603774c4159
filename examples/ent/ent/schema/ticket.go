package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Ticket is a row of ent_ticket, with ent's default id: an auto-increment
// integer the database assigns. Its configuration makes that id the row
// key, so the driver refuses every INSERT ent sends (the id is not in it):
// main.go shows the error. Use a client-generated id, as Citizen does.
type Ticket struct {
	ent.Schema
}

// Annotations of the Ticket.
func (Ticket) Annotations() []schema.Annotation {
	return []schema.Annotation{entsql.Annotation{Table: "ent_ticket"}}
}

// Fields of the Ticket.
func (Ticket) Fields() []ent.Field {
	return []ent.Field{
		field.String("phone"), // protected, blind index phone_bidx
	}
}
