package masking_test

import (
	"fmt"

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
