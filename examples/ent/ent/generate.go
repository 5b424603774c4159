// Package ent is the code that entc generates from ./schema (committed;
// regenerate with go generate ./ent after changing the schema).
package ent

//go:generate go run -mod=mod entgo.io/ent/cmd/ent generate ./schema
