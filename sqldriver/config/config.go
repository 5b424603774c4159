// Package config reads the gmfield driver's YAML configuration
// (docs/config.md) into a *sqldriver.Config: the key ring, the protected
// tables and the role policy. It is the batteries-included path: importing
// it links every dialect (pgdialect, mysqldialect) and every key-directory
// KEK kind (local SM4 and SM2, Vault Transit and KV v2), so that a file can
// name any of them. Applications that want a smaller binary build a
// sqldriver.Config in Go and import only what they use.
//
//	cfg, err := config.Load("gmfield.yaml")
//	db, err := sqldriver.Open("pgx", dsn, cfg)
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/policyyaml"
	"github.com/gmfield/gmfield/internal/yamlmap"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	_ "github.com/gmfield/gmfield/keyring/vault" // the Vault KEK kinds of key directories
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
	_ "github.com/gmfield/gmfield/sqldriver/mysqldialect" // registers mysql, mariadb
	_ "github.com/gmfield/gmfield/sqldriver/pgdialect"    // registers postgres, sqlite
)

// Error is a mistake in a configuration file, with its line. It wraps
// sqldriver.ErrInvalidConfig.
type Error struct {
	File string
	Line int
	Msg  string
	Err  error // the underlying error, if any
}

// Error names the file, the line and the mistake.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gmfield/sqldriver: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	} else if e.File != "" {
		b.WriteString(" ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns sqldriver.ErrInvalidConfig and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{sqldriver.ErrInvalidConfig, e.Err}
	}
	return []error{sqldriver.ErrInvalidConfig}
}

// Load reads a configuration file (docs/config.md) and opens its key
// ring. Relative paths in it are relative to the file's directory. A
// mistake is an *Error naming the file and line.
func Load(path string) (*sqldriver.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error(), Err: err}
	}
	cfg, err := Parse(data, filepath.Dir(path))
	var ce *Error
	if errors.As(err, &ce) {
		ce.File = path
	}
	return cfg, err
}

// Parse parses a configuration document; dir resolves relative paths.
func Parse(data []byte, dir string) (*sqldriver.Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Msg: err.Error(), Err: err}
	}
	if len(doc.Content) == 0 {
		return nil, &Error{Line: 1, Msg: "empty configuration"}
	}
	var (
		cfg                     sqldriver.Config
		keyringNode, tablesNode *yaml.Node
		auditNode, guardNode    *yaml.Node
		defaultRole             = masking.DefaultRole
		rolesNode               *yaml.Node
		maskOpts                []masking.Option
		policyOpts              []masking.PolicyOption
		maskKeyEnv              string
		maskKeyLine, rolesLine  int
		tablesLine              int
	)
	err := pairs(doc.Content[0], func(k, v *yaml.Node) error {
		switch k.Value {
		case "dialect":
			d, ok := sqldriver.DialectNamed(v.Value)
			if !ok {
				return lineErr(v, "dialect must be sqlite, postgres or mysql")
			}
			cfg.Dialect = d
		case "keyring":
			keyringNode = v
		case "key_scope":
			s, err := keyring.ParseScope(v.Value)
			if err != nil {
				return &Error{Line: v.Line, Msg: err.Error(), Err: err}
			}
			cfg.Scope = s
		case "plan_cache":
			n, err := strconv.Atoi(v.Value)
			if err != nil || n < 1 {
				return lineErr(v, "plan_cache must be a positive number")
			}
			cfg.PlanCacheSize = n
		case "show_indexes_in_star":
			b, err := strconv.ParseBool(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return lineErr(v, "show_indexes_in_star must be true or false")
			}
			cfg.ShowIndexesInStar = b
		case "mask_char":
			r := []rune(v.Value)
			if len(r) != 1 {
				return lineErr(v, "mask_char must be one character")
			}
			maskOpts = append(maskOpts, masking.WithMaskChar(r[0]))
		case "mask_key_env":
			maskKeyEnv, maskKeyLine = v.Value, v.Line
		case "default_role":
			policyOpts = append(policyOpts, masking.WithDefaultRole(v.Value))
			defaultRole = v.Value
		case "tables":
			tablesNode, tablesLine = v, k.Line
		case "roles":
			rolesNode, rolesLine = v, k.Line
		case "audit":
			auditNode = v
		case "guard":
			guardNode = v
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (dialect, keyring, key_scope, plan_cache, mask_char, mask_key_env, default_role, tables, roles, audit, guard)", k.Value))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if maskKeyEnv != "" {
		key, err := hex.DecodeString(strings.TrimSpace(os.Getenv(maskKeyEnv)))
		if err != nil || len(key) < 16 {
			return nil, &Error{Line: maskKeyLine, Msg: "mask_key_env: $" + maskKeyEnv + " must hold at least 16 bytes in hex"}
		}
		maskOpts = append(maskOpts, masking.WithKey(key))
	}
	if tablesNode == nil {
		return nil, &Error{Line: 1, Msg: "no tables"}
	}
	rules := map[string]*masking.Rule{}
	if err := pairs(tablesNode, func(k, v *yaml.Node) error {
		t, err := decodeTable(k, v, rules, maskOpts)
		cfg.Tables = append(cfg.Tables, t)
		return err
	}); err != nil {
		return nil, err
	}
	if rolesNode == nil {
		return nil, &Error{Line: tablesLine, Msg: "no roles: every protected column would be denied"}
	}
	roles, err := policyyaml.DecodeRoles(rolesNode, rules)
	if err != nil {
		return nil, &Error{Line: policyLine(err, rolesLine), Msg: err.Error(), Err: err}
	}
	policyOpts = append(policyOpts, masking.WithExternalHash())
	cfg.Policy, err = masking.NewPolicy(roles, rules, policyOpts...)
	if err != nil {
		return nil, &Error{Line: rolesLine, Msg: err.Error(), Err: err}
	}
	if keyringNode == nil {
		return nil, &Error{Line: 1, Msg: "no keyring"}
	}
	if cfg.Keyring, err = openKeyring(keyringNode, dir); err != nil {
		return nil, err
	}
	if auditNode != nil {
		dialect := ""
		if cfg.Dialect != nil {
			dialect = cfg.Dialect.Name()
		}
		if cfg.Audit, cfg.Instance, err = decodeAudit(auditNode, dir, dialect); err != nil {
			return nil, err
		}
	}
	if guardNode != nil {
		if cfg.Guard, err = decodeGuard(guardNode, dir, defaultRole); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, &Error{Line: tablesLine, Msg: strings.TrimPrefix(err.Error(), sqldriver.ErrInvalidConfig.Error()+": "), Err: err}
	}
	return &cfg, nil
}

func policyLine(err error, fallback int) int {
	var pe *masking.PolicyError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return fallback
}

func decodeTable(k, v *yaml.Node, rules map[string]*masking.Rule, maskOpts []masking.Option) (sqldriver.Table, error) {
	t := sqldriver.Table{Name: strings.ToLower(k.Value)}
	if !identRE.MatchString(t.Name) {
		return t, lineErr(k, "table name must be a plain lower-case identifier")
	}
	err := pairs(v, func(tk, tv *yaml.Node) error {
		switch tk.Value {
		case "row_key":
			return decodeRowKey(tv, &t)
		case "schema":
			t.Schema = strings.ToLower(tv.Value)
			if !identRE.MatchString(t.Schema) {
				return lineErr(tv, "schema must be a plain lower-case identifier")
			}
		case "tenant_column":
			t.TenantColumn = strings.ToLower(tv.Value)
			if !identRE.MatchString(t.TenantColumn) {
				return lineErr(tv, "tenant_column must be a plain lower-case identifier")
			}
		case "columns":
			return pairs(tv, func(ck, cv *yaml.Node) error {
				c, err := decodeColumn(t.Name, ck, cv, rules, maskOpts)
				t.Columns = append(t.Columns, c)
				return err
			})
		default:
			return lineErr(tk, fmt.Sprintf("unknown key %q (row_key, schema, tenant_column, columns)", tk.Value))
		}
		return nil
	})
	if err == nil && len(t.Columns) == 0 {
		err = lineErr(k, "table "+t.Name+" has no columns")
	}
	return t, err
}

// decodeRowKey reads "row_key: id" (an integer key) or
// "row_key: {column: id, type: integer|text|uuid|decimal|timestamp,
// scale: N, precision: N}".
func decodeRowKey(n *yaml.Node, t *sqldriver.Table) error {
	if n.Kind == yaml.ScalarNode {
		t.RowKey = strings.ToLower(n.Value)
		if !identRE.MatchString(t.RowKey) {
			return lineErr(n, "row_key must be a plain lower-case identifier")
		}
		return nil
	}
	var scale, precision *yaml.Node
	err := pairs(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "column":
			t.RowKey = strings.ToLower(v.Value)
			if !identRE.MatchString(t.RowKey) {
				return lineErr(v, "row_key column must be a plain lower-case identifier")
			}
		case "type":
			found := false
			for _, kind := range []sqldriver.KeyKind{sqldriver.KeyInteger, sqldriver.KeyText, sqldriver.KeyUUID, sqldriver.KeyDecimal, sqldriver.KeyTimestamp} {
				if kind.String() == v.Value {
					t.RowKeyType.Kind, found = kind, true
				}
			}
			if !found {
				return lineErr(v, "row_key type must be integer, text, uuid, decimal or timestamp")
			}
		case "scale":
			scale = v
		case "precision":
			precision = v
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (column, type, scale, precision)", k.Value))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if t.RowKey == "" {
		return lineErr(n, "row_key needs a column")
	}
	for _, p := range []struct {
		node *yaml.Node
		kind sqldriver.KeyKind
		into *int
		name string
	}{{scale, sqldriver.KeyDecimal, &t.RowKeyType.Scale, "scale"}, {precision, sqldriver.KeyTimestamp, &t.RowKeyType.Precision, "precision"}} {
		if p.node == nil {
			continue
		}
		if t.RowKeyType.Kind != p.kind {
			return lineErr(p.node, fmt.Sprintf("row_key %s is for type %s", p.name, p.kind))
		}
		v, err := strconv.Atoi(p.node.Value)
		if err != nil {
			return lineErr(p.node, "row_key "+p.name+" must be a number")
		}
		*p.into = v
	}

	return nil
}

func decodeColumn(table string, k, v *yaml.Node, rules map[string]*masking.Rule, maskOpts []masking.Option) (sqldriver.Column, error) {
	c := sqldriver.Column{Name: strings.ToLower(k.Value)}
	if !identRE.MatchString(c.Name) {
		return c, lineErr(k, "column name must be a plain lower-case identifier")
	}
	key := table + "." + c.Name
	err := pairs(v, func(ck, cv *yaml.Node) error {
		switch ck.Value {
		case "mask":
			r, err := policyyaml.DecodeRule(cv, maskOpts...)
			if err != nil {
				return &Error{Line: policyLine(err, cv.Line), Msg: key + ": " + err.Error(), Err: err}
			}
			rules[key] = r
		case "form":
			switch cv.Value {
			case "text":
				c.Form = sqldriver.FormText
			case "binary":
				c.Form = sqldriver.FormBinary
			default:
				return lineErr(cv, "form must be text or binary")
			}
		case "on_error":
			switch cv.Value {
			case "fail", "error":
				c.OnError = sqldriver.ErrorFail
			case "null":
				c.OnError = sqldriver.ErrorNull
			default:
				return lineErr(cv, `on_error must be fail or "null"`)
			}
		case "migrating":
			b, err := strconv.ParseBool(cv.Value)
			if err != nil || cv.Kind != yaml.ScalarNode {
				return lineErr(cv, "migrating must be true or false")
			}
			c.Migrating = b
		case "max_len":
			n, err := strconv.Atoi(cv.Value)
			if err != nil || n < 1 || n > crypto.MaxPlaintextSize {
				return lineErr(cv, fmt.Sprintf("max_len must be a byte count from 1 to %d", crypto.MaxPlaintextSize))
			}
			c.MaxLen = n
		case "index":
			return pairs(cv, func(ik, iv *yaml.Node) error {
				ix := sqldriver.Index{Column: strings.ToLower(ik.Value)}
				tn := iv
				if iv.Kind == yaml.MappingNode {
					tn = nil
					if err := pairs(iv, func(xk, xv *yaml.Node) error {
						switch xk.Value {
						case "transform":
							tn = xv
						case "size":
							n, err := strconv.Atoi(xv.Value)
							if err != nil || n < crypto.MinIndexSize || n > crypto.MaxIndexSize {
								return lineErr(xv, fmt.Sprintf("size must be %d to %d bytes", crypto.MinIndexSize, crypto.MaxIndexSize))
							}
							ix.Size = n
						default:
							return lineErr(xk, fmt.Sprintf("unknown key %q (transform, size)", xk.Value))
						}
						return nil
					}); err != nil {
						return err
					}
					if tn == nil {
						return lineErr(ik, "index "+ix.Column+" needs a transform")
					}
				}
				tr, err := crypto.ParseTransform(tn.Value)
				if err != nil {
					return lineErr(tn, "index "+ix.Column+": transform must be full, lower, upper, digits or last4")
				}
				ix.Transform = tr
				c.Indexes = append(c.Indexes, ix)
				return nil
			})
		default:
			return lineErr(ck, fmt.Sprintf("unknown key %q (mask, form, index, on_error, migrating, max_len)", ck.Value))
		}
		return nil
	})
	if err == nil && rules[key] == nil {
		err = lineErr(k, key+" needs a mask function (mask_all masks everything)")
	}
	return c, err
}

func openKeyring(n *yaml.Node, dir string) (*keyring.Keyring, error) {
	var kdir, provider string
	var opts []keyring.Option
	err := pairs(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "dir":
			kdir = v.Value
		case "provider":
			provider = v.Value
		case "cache_ttl":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return lineErr(v, "cache_ttl must be a duration such as 5m")
			}
			opts = append(opts, keyring.WithTTL(d))
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (dir, provider, cache_ttl)", k.Value))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if kdir == "" {
		return nil, lineErr(n, "keyring needs dir")
	}
	if !filepath.IsAbs(kdir) {
		kdir = filepath.Join(dir, kdir)
	}
	kc, err := local.ReadConfig(kdir)
	if err != nil {
		return nil, &Error{Line: n.Line, Msg: "keyring: " + err.Error(), Err: err}
	}
	if provider != "" {
		want := map[string]string{"local-sm4": "sm4", "local-sm2": "sm2", "sm4": "sm4", "sm2": "sm2", "vault-transit": "vault-transit", "vault-kv": "vault-kv"}[provider]
		if want == "" {
			return nil, lineErr(n, "keyring provider must be local-sm4, local-sm2, vault-transit or vault-kv")
		}
		if local.KEKKind(want) != kc.KEK.Kind {
			return nil, lineErr(n, fmt.Sprintf("keyring provider %s, but %s is a %s key directory", provider, kdir, kc.KEK.Kind))
		}
	}
	kr, err := local.Open(kdir, opts...)
	if err != nil {
		return nil, &Error{Line: n.Line, Msg: "keyring: " + err.Error(), Err: err}
	}
	return kr, nil
}

// pairs calls f for each key and value of a mapping, refusing duplicates.
func pairs(n *yaml.Node, f func(k, v *yaml.Node) error) error { return yamlmap.Pairs(n, lineErr, f) }

func lineErr(n *yaml.Node, msg string) error { return &Error{Line: n.Line, Msg: msg} }

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
