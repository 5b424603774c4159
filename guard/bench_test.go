package guard_test

import (
	"context"
	"testing"
	"time"

	"github.com/gmfield/gmfield/guard"
)

// BenchmarkAdmit is the guard's own cost for one lookup (Admit and one
// row of two values) and per row of a longer result, with an in-process
// window budget, a per-statement budget and an enforced whitelist.
func BenchmarkAdmit(b *testing.B) {
	g, err := guard.New(guard.Config{Whitelist: guard.WhitelistEnforce, Roles: map[string]guard.Role{
		"admin": {PerStatement: 1 << 40, Budget: guard.Budget{Values: 1 << 50, Window: time.Hour}, Statements: []string{fpA}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	st := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true, Fingerprint: fpA, Tables: []string{"citizen"}}
	ctx := context.Background()
	p := who("bench", "admin")
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			u, err := g.Admit(ctx, p, st)
			if err != nil {
				b.Fatal(err)
			}
			if err := u.Row(2, "citizen.name"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("row", func(b *testing.B) {
		u, err := g.Admit(ctx, p, st)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := u.Row(3, "citizen.name"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
