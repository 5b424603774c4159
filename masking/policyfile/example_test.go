package policyfile_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/masking/policyfile"
)

func ExampleLoad() {
	policy, err := policyfile.Load([]byte(`
columns:
  citizen.phone: mobile
  citizen.name: chinese_name
roles:
  clerk:   {default: mask}
  auditor: {default: mask, columns: {citizen.phone: plain}}
  default: {default: "null"}
`))
	if err != nil {
		panic(err)
	}
	ctx := masking.NewContext(context.Background(), masking.Principal{ID: "u42", Roles: []string{"clerk"}})
	who, _ := masking.FromContext(ctx)
	for _, col := range []string{"phone", "name"} {
		v := map[string]string{"phone": "13800138000", "name": "张三"}[col]
		out, null, err := policy.Apply(who, "citizen", col, v)
		fmt.Println(col, policy.Decide(who, "citizen", col), out, null, err)
	}
	// A time-limited grant of the auditor role, for a ticket.
	who.Grants = []masking.Grant{{Role: "auditor", Expires: time.Now().Add(time.Hour), Reason: "OPS-1234"}}
	fmt.Println(policy.Decide(who, "citizen", "phone"))
	fmt.Println(policy.Decide(masking.Principal{}, "citizen", "phone"))
	// Output:
	// phone mask 138****8000 false <nil>
	// name mask 张* false <nil>
	// plain
	// null
}
