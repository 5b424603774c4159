package sqldriver_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

func TestConfigErrorsNameTheLine(t *testing.T) {
	dir := keyDir(t)
	base := "keyring: {dir: ./keys}\ntables:\n  citizen:\n    columns:\n      phone: {mask: mobile, index: {phone_bidx: full}}\nroles:\n  admin: {default: plain}\n"
	cases := []struct {
		name, doc string
		line      int
		msg       string
	}{
		{"unknown top key", "colour: red\n" + base, 1, `unknown key "colour"`},
		{"unknown mask", strings.Replace(base, "mask: mobile", "mask: mobilephone", 1), 5, "unknown masking function"},
		{"bad transform", strings.Replace(base, "phone_bidx: full", "phone_bidx: prefix", 1), 5, "transform must be"},
		{"no mask", strings.Replace(base, "{mask: mobile, index: {phone_bidx: full}}", "{index: {phone_bidx: full}}", 1), 5, "needs a mask function"},
		{"bad form", strings.Replace(base, "mask: mobile,", "mask: mobile, form: hex,", 1), 5, "form must be"},
		{"bad role action", strings.Replace(base, "default: plain", "default: show", 1), 7, "show"},
		{"role names an undeclared column", strings.Replace(base, "{default: plain}", "{default: plain, columns: {citizen.name: plain}}", 1), 7, "not declared"},
		{"bad identifier", strings.Replace(base, "phone:", "Phone-No:", 1), 5, "identifier"},
		{"index named like the row key", strings.Replace(base, "    columns:", "    row_key: phone_bidx\n    columns:", 1), 2, "row key"},
		{"provider mismatch", strings.Replace(base, "{dir: ./keys}", "{dir: ./keys, provider: vault-transit}", 1), 1, "sm4 key directory"},
		{"missing key dir", strings.Replace(base, "./keys", "./nokeys", 1), 1, "keyring"},
		{"no roles", strings.Split(base, "roles:")[0], 2, "no roles"},
		{"duplicate key", base + "roles:\n  x: {default: mask}\n", 8, "appears twice"},
		{"index twice", strings.Replace(base, "{phone_bidx: full}", "{phone_bidx: full, p2: full}", 1), 2, "two full indexes"},
		{"bad size", strings.Replace(base, "phone_bidx: full", "phone_bidx: {transform: full, size: 99}", 1), 5, "size must be"},
	}
	for _, c := range cases {
		_, err := config.Parse([]byte(c.doc), dir)
		var ce *config.Error
		if assert.True(t, errors.As(err, &ce), "%s: %v", c.name, err) {
			assert.Equal(t, c.line, ce.Line, "%s: %v", c.name, err)
			assert.Contains(t, err.Error(), c.msg, c.name)
			assert.ErrorIs(t, err, sqldriver.ErrInvalidConfig)
		}
	}
	cfg, err := config.Parse([]byte(base), dir)
	require.NoError(t, err)
	assert.Len(t, cfg.Tables, 1)

	path := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("tables: [\n"), 0o600))
	_, err = config.Load(path)
	assert.ErrorContains(t, err, "bad.yaml")
}

func TestGoConfigValidation(t *testing.T) {
	cfg := newConfig(t, testConfig)
	ok := *cfg
	bad := func(mut func(c *sqldriver.Config)) error {
		c := ok
		c.Tables = append([]sqldriver.Table(nil), ok.Tables...)
		mut(&c)
		_, err := sqldriver.Open("sqlite", filepath.Join(t.TempDir(), "x.db"), &c)
		return err
	}
	require.NoError(t, bad(func(*sqldriver.Config) {}))
	for name, mut := range map[string]func(*sqldriver.Config){
		"no keyring": func(c *sqldriver.Config) { c.Keyring = nil },
		"no policy":  func(c *sqldriver.Config) { c.Policy = nil },
		"no tables":  func(c *sqldriver.Config) { c.Tables = nil },
		"two tables with one name": func(c *sqldriver.Config) {
			c.Tables = append(c.Tables, c.Tables[0])
		},
		"empty table": func(c *sqldriver.Config) { c.Tables = []sqldriver.Table{{Name: "t"}} },
		"bad size": func(c *sqldriver.Config) {
			c.Tables = []sqldriver.Table{{Name: "t", Columns: []sqldriver.Column{{Name: "c", Indexes: []sqldriver.Index{{Column: "i", Transform: "full", Size: 4}}}}}}
		},
	} {
		assert.ErrorIs(t, bad(mut), sqldriver.ErrInvalidConfig, name)
	}
}

// otherDriver is a driver whose dialect the wrapper cannot tell.
type otherDriver struct{ d *sqlite.Driver }

func (o otherDriver) Open(string) (driver.Conn, error) { return o.d.Open(":memory:") }

type otherConnector struct{}

var other = otherDriver{d: &sqlite.Driver{}}

func (otherConnector) Connect(context.Context) (driver.Conn, error) { return other.Open("") }
func (otherConnector) Driver() driver.Driver                        { return other }

func TestUnknownDriverRefusesProtectedTables(t *testing.T) {
	cfg := newConfig(t, testConfig)
	cfg.Dialect = nil
	c, err := sqldriver.Wrap(otherConnector{}, cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	_, err = db.Exec(`SELECT phone FROM citizen`)
	assert.ErrorIs(t, err, sqldriver.ErrUnparsable)
	var n int
	require.NoError(t, db.QueryRow(`SELECT 1`).Scan(&n), "other statements pass")
	assert.Equal(t, 1, n)
}

func FuzzParseConfig(f *testing.F) {
	f.Add(testConfig)
	f.Add(benchConfig)
	f.Add("tables: {t: {columns: {c: {mask: {function: keep, params: {first: 1}}, index: {i: {transform: last4, size: 8}}}}}}\nroles: {r: {default: mask}}\n")
	dir := keyDir(f)
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := config.Parse([]byte(strings.ReplaceAll(doc, "./keys", "keys")), dir)
		if err == nil && (cfg.Keyring == nil || cfg.Policy == nil || len(cfg.Tables) == 0) {
			t.Fatalf("accepted an incomplete configuration")
		}
		if err != nil && !errors.Is(err, sqldriver.ErrInvalidConfig) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// TestIssueExample parses the configuration example of docs/config.md's
// first form, as the issue gave it.
func TestIssueExample(t *testing.T) {
	dir := keyDir(t)
	cfg, err := config.Parse([]byte(`keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
      name:  {mask: chinese_name}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  auditor: {default: mask, columns: {citizen.phone: plain}}
  default: {default: "null"}
`), dir)
	require.NoError(t, err)
	require.Len(t, cfg.Tables, 1)
	assert.Equal(t, "id", cfg.Tables[0].RowKey)
	assert.Len(t, cfg.Tables[0].Columns, 3)
	assert.ElementsMatch(t, []string{"admin", "clerk", "auditor", "default"}, cfg.Policy.Roles())
}
