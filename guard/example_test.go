package guard_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/masking"
)

// A clerk may not delete every row, nor decrypt more than 4 values in
// one statement. The driver (sqldriver.Config.Guard) makes these calls.
func Example() {
	g, err := guard.New(guard.Config{Roles: map[string]guard.Role{"clerk": {PerStatement: 4}}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	clerk := masking.Principal{ID: "clerk-7", Roles: []string{"clerk"}}

	_, err = g.Admit(ctx, clerk, &guard.Statement{Kind: guard.KindDelete, Tables: []string{"citizen"}})
	fmt.Println(err)

	u, err := g.Admit(ctx, clerk, &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true, Tables: []string{"citizen"}})
	if err != nil {
		panic(err)
	}
	for row := 1; ; row++ {
		if err := u.Row(2, "citizen.phone"); err != nil {
			fmt.Printf("row %d: %v (budget: %v)\n", row, err, errors.Is(err, guard.ErrBudgetExceeded))
			break
		}
	}
	// Output:
	// gmfield/guard: high-risk statement: rule delete_all
	// row 3: gmfield/guard: decryption budget exceeded: rule statement_budget, role clerk, column citizen.phone, limit 4 (budget: true)
}

// An approver signs an approval; the guard trusts the approver's key.
func ExampleIssue() {
	key, _ := crypto.GenerateSM2Key()
	signer, _ := audit.NewSigner(guard.DefaultApprover, key)
	verifier, _ := audit.NewVerifier(guard.DefaultApprover, key.Public())

	now := time.Now()
	token, err := guard.Issue(guard.Approval{Principal: "officer-3", Rules: []guard.Rule{guard.RuleDeleteAll},
		NotBefore: now, Expires: now.Add(2 * time.Hour), Reason: "ticket 123"}, signer)
	if err != nil {
		panic(err)
	}
	g, _ := guard.New(guard.Config{Approvers: []note.Verifier{verifier}, Roles: map[string]guard.Role{"clerk": {}}})
	ctx := guard.WithApproval(context.Background(), token)
	u, err := g.Admit(ctx, masking.Principal{ID: "officer-3", Roles: []string{"clerk"}}, &guard.Statement{Kind: guard.KindDelete})
	fmt.Println(err, u.Lifts()[0].Rule, u.Lifts()[0].Approval.Reason)
	// Output: <nil> delete_all ticket 123
}
