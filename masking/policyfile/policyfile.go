// Package policyfile reads a masking policy from a YAML document
// (docs/policy.md). It is apart from package masking so that programs that
// build their policy in Go (masking.NewPolicy) link no YAML.
package policyfile

import (
	"github.com/gmfield/gmfield/internal/policyyaml"
	"github.com/gmfield/gmfield/masking"
)

// Load parses and validates a policy document (docs/policy.md):
//
//	mask_char: "*"
//	default_role: default
//	hash: {length: 16, encoding: hex}
//	columns:
//	  citizen.id_no: id_card
//	  citizen.phone: {function: mobile, params: {keep_last: 4}}
//	roles:
//	  clerk:   {default: mask}
//	  auditor: {default: mask, columns: {citizen.phone: plain}}
//	  default: {default: "null"}
//
// Options supply the key of keyed functions (masking.WithKey). Any mistake
// returns a *masking.PolicyError that names its line and wraps
// masking.ErrInvalidPolicy.
func Load(data []byte, opts ...masking.Option) (*masking.Policy, error) {
	return policyyaml.Load(data, opts...)
}
