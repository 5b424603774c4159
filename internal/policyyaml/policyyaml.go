// Package policyyaml decodes the masking parts of gmfield's YAML documents
// — a policy file (masking/policyfile) and the driver's configuration
// (sqldriver/config) — into masking's types, naming the line of every
// mistake (*masking.PolicyError). It keeps *yaml.Node out of masking's API
// and YAML out of the programs that build their policy in Go.
package policyyaml

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/internal/yamlmap"
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
// Options supply the key of keyed functions (WithKey). Any mistake returns
// a *masking.PolicyError that names its line and wraps ErrInvalidPolicy.
func Load(data []byte, opts ...masking.Option) (*masking.Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &masking.PolicyError{Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, &masking.PolicyError{Line: 1, Msg: "empty policy"}
	}
	root := doc.Content[0]
	var (
		columns     = map[string]*masking.Rule{}
		roles       map[string]masking.Role
		policyOpts  []masking.PolicyOption
		hashParams  masking.Params
		hashLine    int
		rolesLine   int
		rolesNode   *yaml.Node
		defaultRole *yaml.Node
	)
	err := eachPair(root, func(k, v *yaml.Node) error {
		switch k.Value {
		case "mask_char":
			if v.Kind != yaml.ScalarNode || utf8.RuneCountInString(v.Value) != 1 {
				return lineErr(v, "mask_char must be one character")
			}
			c, _ := utf8.DecodeRuneInString(v.Value)
			opts = append(opts, masking.WithMaskChar(c))
		case "default_role":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return lineErr(v, "default_role must name a role")
			}
			defaultRole = v
		case "hash":
			p, err := decodeParams(v)
			if err != nil {
				return err
			}
			hashParams, hashLine = p, v.Line
		case "columns", "roles":
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (mask_char, default_role, hash, columns, roles)", k.Value))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachPair(root, func(k, v *yaml.Node) error {
		switch k.Value {
		case "columns":
			return eachPair(v, func(ck, cv *yaml.Node) error {
				key, err := masking.ColumnKey(ck.Value)
				if err != nil {
					return lineErr(ck, err.Error())
				}
				if _, dup := columns[key]; dup {
					return lineErr(ck, "column "+key+" is declared twice")
				}
				r, err := DecodeRule(cv, opts...)
				if err != nil {
					return err
				}
				columns[key] = r
				return nil
			})
		case "roles":
			rolesLine, rolesNode = k.Line, v
			var err error
			roles, err = DecodeRoles(v, columns)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if roles == nil {
		return nil, &masking.PolicyError{Line: max(rolesLine, 1), Msg: "a policy needs a roles section"}
	}
	if defaultRole != nil {
		if _, ok := roles[strings.ToLower(defaultRole.Value)]; !ok {
			return nil, lineErr(defaultRole, "default_role "+defaultRole.Value+" is not defined")
		}
		policyOpts = append(policyOpts, masking.WithDefaultRole(defaultRole.Value))
	}
	if usesHashAction(roles) || hashParams != nil {
		r, err := masking.NewRule("hash", hashParams, opts...)
		if err != nil {
			line := hashLine
			if line == 0 {
				line = max(hashActionLine(rolesNode), rolesLine)
			}
			return nil, &masking.PolicyError{Line: line, Msg: "hash action: " + err.Error(), Err: err}
		}
		policyOpts = append(policyOpts, masking.WithHashRule(r))
	}
	return masking.NewPolicy(roles, columns, policyOpts...)
}

func usesHashAction(roles map[string]masking.Role) bool {
	for _, r := range roles {
		if r.Default == masking.ActionHash {
			return true
		}
		for _, a := range r.Columns {
			if a == masking.ActionHash {
				return true
			}
		}
	}
	return false
}

// DecodeRule decodes a column's masking function from YAML: a function
// name ("id_card") or a mapping {function: NAME, params: {k: v}}.
func DecodeRule(n *yaml.Node, opts ...masking.Option) (*masking.Rule, error) {
	var name string
	var params masking.Params
	var paramsNode *yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		name = n.Value
	case yaml.MappingNode:
		err := eachPair(n, func(k, v *yaml.Node) error {
			switch k.Value {
			case "function":
				if v.Kind != yaml.ScalarNode {
					return lineErr(v, "function must be a name")
				}
				name = v.Value
			case "params":
				p, err := decodeParams(v)
				params, paramsNode = p, v
				return err
			default:
				return lineErr(k, fmt.Sprintf("unknown key %q (function, params)", k.Value))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, lineErr(n, "masking function needs a function name")
		}
	default:
		return nil, lineErr(n, "a masking function is a name or {function: NAME, params: {...}}")
	}
	r, err := masking.NewRule(name, params, opts...)
	if err != nil {
		line := n.Line
		var pe *masking.ParamError
		if errors.As(err, &pe) && paramsNode != nil {
			for i := 0; i+1 < len(paramsNode.Content); i += 2 {
				if paramsNode.Content[i].Value == pe.Param {
					line = paramsNode.Content[i].Line
				}
			}
		}
		return nil, &masking.PolicyError{Line: line, Msg: err.Error(), Err: err}
	}
	return r, nil
}

// hashActionLine returns the line of the first use of the hash action in
// a roles section, or 0.
func hashActionLine(roles *yaml.Node) int {
	if roles == nil {
		return 0
	}
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.ScalarNode && v.Value == "hash" && k.Value != "function" {
					return v.Line
				}
				if l := walk(v); l > 0 {
					return l
				}
			}
		}
		return 0
	}
	return walk(roles)
}

// DecodeRoles decodes the roles section: role name → {default: ACTION,
// columns: {table.column: ACTION}}. Overrides must name a column in
// columns when columns is not nil.
func DecodeRoles(n *yaml.Node, columns map[string]*masking.Rule) (map[string]masking.Role, error) {
	roles := map[string]masking.Role{}
	err := eachPair(n, func(rk, rv *yaml.Node) error {
		name := strings.ToLower(rk.Value)
		if name == "" {
			return lineErr(rk, "a role needs a name")
		}
		if _, dup := roles[name]; dup {
			return lineErr(rk, "role "+name+" is defined twice")
		}
		role := masking.Role{Columns: map[string]masking.Action{}}
		err := eachPair(rv, func(k, v *yaml.Node) error {
			switch k.Value {
			case "default":
				a, err := decodeAction(v)
				role.Default = a
				return err
			case "columns":
				return eachPair(v, func(ck, cv *yaml.Node) error {
					key, err := masking.ColumnKey(ck.Value)
					if err != nil {
						return lineErr(ck, err.Error())
					}
					if columns != nil {
						if _, ok := columns[key]; !ok {
							return lineErr(ck, "role "+name+": column "+key+" is not declared")
						}
					}
					a, err := decodeAction(cv)
					role.Columns[key] = a
					return err
				})
			default:
				return lineErr(k, fmt.Sprintf("unknown key %q in role %s (default, columns)", k.Value, name))
			}
		})
		if err != nil {
			return err
		}
		if role.Default == 0 {
			return lineErr(rk, "role "+name+" needs a default action")
		}
		roles[name] = role
		return nil
	})
	return roles, err
}

// decodeAction reads an action; an unquoted null (YAML's null) means the
// null action.
func decodeAction(n *yaml.Node) (masking.Action, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, lineErr(n, "an action is one of plain, mask, hash, null, deny")
	}
	v := n.Value
	if n.Tag == "!!null" {
		v = "null"
	}
	a, err := masking.ParseAction(v)
	if err != nil {
		return 0, lineErr(n, fmt.Sprintf("unknown action %q (plain, mask, hash, null, deny)", n.Value))
	}
	return a, nil
}

func decodeParams(n *yaml.Node) (masking.Params, error) {
	p := masking.Params{}
	err := eachPair(n, func(k, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode {
			return lineErr(v, "parameter "+k.Value+" must be a scalar")
		}
		if _, dup := p[k.Value]; dup {
			return lineErr(k, "parameter "+k.Value+" is given twice")
		}
		p[k.Value] = v.Value
		return nil
	})
	return p, err
}

// eachPair calls f for each key and value of the mapping n, rejecting
// other node kinds and duplicate keys.
func eachPair(n *yaml.Node, f func(k, v *yaml.Node) error) error {
	return yamlmap.Pairs(n, lineErr, f)
}

func lineErr(n *yaml.Node, msg string) error {
	return &masking.PolicyError{Line: n.Line, Msg: msg}
}
