package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/guard/redisbudget"
)

// decodeGuard reads the guard: section (docs/guard.md): the whitelist
// mode and learn file, where window budgets are counted, the trusted
// approver keys, and the settings of roles and principals.
func decodeGuard(n *yaml.Node, dir, defaultRole string) (*guard.Guard, error) {
	c := guard.Config{DefaultRole: defaultRole, Roles: map[string]guard.Role{}, Principals: map[string]guard.Role{}}
	learnFile := ""
	err := pairs(n, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "whitelist":
			c.Whitelist, err = guard.ParseMode(v.Value)
		case "learn_file":
			learnFile = v.Value
		case "budgets":
			c.Counter, c.OnUnavailable, err = decodeBudgets(v)
		case "approvals":
			err = decodeApprovals(v, &c)
		case "roles", "principals":
			dst := c.Roles
			if k.Value == "principals" {
				dst = c.Principals
			}
			err = pairs(v, func(rk, rv *yaml.Node) error {
				r, err := decodeGuardRole(rv, k.Value == "principals")
				dst[rk.Value] = r
				return err
			})
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (whitelist, learn_file, budgets, approvals, roles, principals)", k.Value))
		}
		return guardErr(v, err)
	})
	if err != nil {
		return nil, err
	}
	if c.Whitelist == guard.WhitelistLearn {
		if learnFile == "" {
			return nil, lineErr(n, "whitelist: learn needs learn_file, where the statements seen are written")
		}
		if !filepath.IsAbs(learnFile) {
			learnFile = filepath.Join(dir, learnFile)
		}
		c.Learn = &appendFile{path: learnFile}
	}
	g, err := guard.New(c)
	if err != nil {
		return nil, guardErr(n, err)
	}
	return g, nil
}

// guardErr places an error of the guard package at node n; an *Error
// (already placed) and nil pass unchanged.
func guardErr(n *yaml.Node, err error) error {
	var placed *Error
	if err == nil || errors.As(err, &placed) {
		return err
	}
	return &Error{Line: n.Line, Msg: strings.TrimPrefix(err.Error(), "gmfield/guard: "), Err: err}
}

func decodeGuardRole(n *yaml.Node, override bool) (guard.Role, error) {
	var r guard.Role
	limit := func(v *yaml.Node, what string) (int64, error) {
		if override && v.Value == "none" {
			return guard.Unlimited, nil
		}
		x, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil || x < 1 {
			msg := what + " must be a positive number"
			if override {
				msg += ", or none"
			}
			return 0, lineErr(v, msg)
		}
		return x, nil
	}
	err := pairs(n, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "per_statement":
			r.PerStatement, err = limit(v, k.Value)
		case "max_rows":
			r.MaxRows, err = limit(v, k.Value)
		case "budget":
			if override && v.Value == "none" {
				r.Budget.Values = guard.Unlimited
				return nil
			}
			if r.Budget, err = guard.ParseBudget(v.Value); err == nil && r.Budget.Values < 1 {
				err = lineErr(v, "a budget must allow at least one value; refuse the role's reads in the policy instead")
			}
		case "bulk":
			b, perr := strconv.ParseBool(v.Value)
			if perr != nil {
				return lineErr(v, "bulk must be true or false")
			}
			r.NoBulk = !b
		case "allow", "statements":
			var list []string
			if err := v.Decode(&list); err != nil {
				return lineErr(v, k.Value+" must be a list")
			}
			for _, s := range list {
				if k.Value == "statements" {
					r.Statements = append(r.Statements, s)
					continue
				}
				rule, err := guard.ParseRule(s)
				if err != nil {
					return lineErr(v, err.Error())
				}
				r.Allow = append(r.Allow, rule)
			}
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (per_statement, budget, max_rows, bulk, allow, statements)", k.Value))
		}
		return guardErr(v, err)
	})
	return r, err
}

func decodeBudgets(n *yaml.Node) (guard.Counter, guard.Fallback, error) {
	var (
		store    = "memory"
		fallback guard.Fallback
		opt      redis.Options
		rb       redisbudget.Options
		addrEnv  string
		redisAt  *yaml.Node
	)
	err := pairs(n, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "store":
			if v.Value != "memory" && v.Value != "redis" {
				return lineErr(v, "budgets store must be memory or redis")
			}
			store = v.Value
		case "on_unavailable":
			fallback, err = guard.ParseFallback(v.Value)
			return guardErr(v, err)
		case "redis":
			redisAt = v
			return pairs(v, func(rk, rv *yaml.Node) error {
				switch rk.Value {
				case "addr":
					opt.Addr = rv.Value
				case "addr_env":
					addrEnv = rv.Value
				case "password_env":
					opt.Password = os.Getenv(rv.Value)
				case "db":
					x, err := strconv.Atoi(rv.Value)
					if err != nil || x < 0 {
						return lineErr(rv, "redis db must be a number")
					}
					opt.DB = x
				case "prefix":
					rb.Prefix = rv.Value
				case "timeout":
					d, err := time.ParseDuration(rv.Value)
					if err != nil || d <= 0 {
						return lineErr(rv, "redis timeout must be a duration such as 200ms")
					}
					rb.Timeout = d
				default:
					return lineErr(rk, fmt.Sprintf("unknown key %q (addr, addr_env, password_env, db, prefix, timeout)", rk.Value))
				}
				return nil
			})
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (store, on_unavailable, redis)", k.Value))
		}
		return err
	})
	if err != nil || store == "memory" {
		return nil, fallback, err
	}
	if addrEnv != "" {
		opt.Addr = os.Getenv(addrEnv)
	}
	if redisAt == nil || opt.Addr == "" {
		return nil, 0, lineErr(n, "budgets store redis needs redis: addr (or addr_env naming a set variable)")
	}
	// Each call is bounded by the counter's timeout; the client does not
	// retry, so a store that is down answers within it.
	opt.MaxRetries = -1
	client := redis.NewClient(&opt)
	return ownedCounter{redisbudget.New(client, rb), client}, fallback, nil
}

// ownedCounter is a Redis counter with the client made for it, which
// closing the guard closes.
type ownedCounter struct {
	*redisbudget.Counter
	client *redis.Client
}

func (o ownedCounter) Close() error { return o.client.Close() }

func decodeApprovals(n *yaml.Node, c *guard.Config) error {
	return pairs(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "keys":
			var keys []string
			if err := v.Decode(&keys); err != nil {
				return lineErr(v, "approvals keys must be a list of verifier keys (gmfield guard keygen)")
			}
			for _, s := range keys {
				vk, err := audit.ParseVerifierKey(s)
				if err != nil {
					return lineErr(v, "approvals keys: "+err.Error())
				}
				c.Approvers = append(c.Approvers, vk)
			}
		case "max_duration":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return lineErr(v, "max_duration must be a duration such as 24h")
			}
			c.MaxApproval = d
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (keys, max_duration)", k.Value))
		}
		return nil
	})
}

// appendFile opens its file for appending at the first write, so that
// tools that only read the configuration do not create it.
type appendFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func (a *appendFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, err
		}
		a.f = f
	}
	return a.f.Write(p)
}

func (a *appendFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	return err
}
