package masking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gmfield/gmfield/masking"
)

func ExampleNewRule() {
	r, err := masking.NewRule("mobile", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Mask("13800138000"))
	fmt.Println(r.Mask("+86 139-1234-5678"))
	fmt.Println(r.Mask("１３８００１３８０００"))
	// Output:
	// 138****8000
	// +86 139-****-5678
	// １３８****８０００
}

func ExampleNewRule_params() {
	r, err := masking.NewRule("keep_first_last", masking.Params{"first": "2", "last": "2", "char": "#"})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Mask("91350100M000100Y43"))
	fmt.Println(r.Mask("abc")) // too short to hide anything: masked entirely
	// Output:
	// 91##############43
	// ###
}

func ExampleDetect() {
	for _, m := range masking.Detect("11010519491231002X") {
		fmt.Printf("%s %.2f\n", m.Kind, m.Confidence)
	}
	// Output: id_card 0.99
}

func ExampleLoadPolicy() {
	policy, err := masking.LoadPolicy([]byte(`
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
