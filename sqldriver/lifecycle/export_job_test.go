package lifecycle_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/internal/testdb"
	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

const maskKeyHex = "6d61736b2d6b65792d666f722d746573742d6f6e6c79"

// exportDoc protects a citizen table and a visit table that refers to
// citizens by resident ID.
const exportDoc = `
keyring: {provider: local-sm4, dir: ./keys}
mask_key_env: GMFIELD_TEST_MASK_KEY
tables:
  citizen:
    row_key: id
    columns:
      id_no:   {mask: id_card, index: {id_no_bidx: full}}
      phone:   {mask: mobile, index: {phone_bidx: full}}
      name:    {mask: chinese_name}
      address: {mask: address}
      birth:   {mask: date}
  visit:
    row_key: id
    columns:
      id_no:   {mask: id_card, index: {visit_id_no_bidx: full}}
      clinic:  {mask: mask_all}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  analyst: {default: hash, columns: {citizen.name: deny}}
`

// validID is a resident ID with a valid check character.
func validID(i int) string {
	body := fmt.Sprintf("%s%d%02d%02d%03d", []string{"110105", "440305", "510107"}[i%3], 1950+i%50, 1+i%12, 1+i%28, i%1000)
	w := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for j := range 17 {
		sum += int(body[j]-'0') * w[j]
	}
	return body + string("10X98765432"[sum%11])
}

type citizenRow struct{ idNo, phone, name, address, birth string }

func citizenOf(i int) citizenRow {
	return citizenRow{validID(i), fmt.Sprintf("139%08d", i*7919%100000000), []string{"张伟", "王芳", "欧阳娜", "李"}[i%4] + fmt.Sprint(i%7),
		fmt.Sprintf("北京市朝阳区建国路%d号%d室", i%300+1, i%50+101), fmt.Sprintf("%d-%02d-%02d", 1950+i%50, 1+i%12, 1+i%28)}
}

// exportEnv is a source database with both tables written through the
// driver: n citizens and 2n visits (each citizen twice).
type exportEnv struct {
	b   backend
	raw *sql.DB
	dsn string
	cfg *sqldriver.Config
	src *sql.DB
	n   int
}

func newExportEnv(t testing.TB, b backend, n int) *exportEnv {
	t.Helper()
	t.Setenv("GMFIELD_TEST_MASK_KEY", maskKeyHex)
	raw, dsn := b.connect(t)
	cfg := parseConfig(t, exportDoc)
	for _, q := range []string{
		fmt.Sprintf(`CREATE TABLE citizen (id %s PRIMARY KEY, id_no TEXT, id_no_bidx VARCHAR(64), phone TEXT, phone_bidx VARCHAR(64), name TEXT, address TEXT, birth TEXT, city VARCHAR(20))`, b.idType),
		fmt.Sprintf(`CREATE TABLE visit (id %s PRIMARY KEY, id_no TEXT, visit_id_no_bidx VARCHAR(64), clinic TEXT, day VARCHAR(10))`, b.idType),
	} {
		_, err := raw.Exec(q)
		require.NoError(t, err)
	}
	src, err := sqldriver.Open(b.driver, dsn, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	ctx := admin(t.Context(), "")
	tx, err := src.BeginTx(ctx, nil)
	require.NoError(t, err)
	for i := 1; i <= n; i++ {
		c := citizenOf(i)
		_, err := tx.ExecContext(ctx, b.ph(`INSERT INTO citizen (id, id_no, phone, name, address, birth, city) VALUES (?, ?, ?, ?, ?, ?, 'bj')`),
			i, c.idNo, c.phone, c.name, c.address, c.birth)
		require.NoError(t, err)
		for v := range 2 {
			_, err := tx.ExecContext(ctx, b.ph(`INSERT INTO visit (id, id_no, clinic, day) VALUES (?, ?, ?, '2026-01-02')`), 2*i+v, c.idNo, "协和医院内科")
			require.NoError(t, err)
		}
	}
	require.NoError(t, tx.Commit())
	return &exportEnv{b: b, raw: raw, dsn: dsn, cfg: cfg, src: src, n: n}
}

func rules(t testing.TB, specs map[string]string) map[string]*masking.Rule {
	t.Helper()
	out := map[string]*masking.Rule{}
	key := []byte("mask-key-for-test-only")
	for col, spec := range specs {
		name, params, _ := strings.Cut(spec, ":")
		p := masking.Params{}
		if params != "" {
			for _, kv := range strings.Split(params, ",") {
				k, v, _ := strings.Cut(kv, "=")
				p[k] = v
			}
		}
		r, err := masking.NewRule(name, p, masking.WithKey(key))
		require.NoError(t, err)
		out[col] = r
	}
	return out
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// staticRules is what a test department's copy gets.
var staticRules = map[string]string{"id_no": "pseudonym:type=id_card", "phone": "pseudonym:type=mobile", "name": "chinese_name",
	"address": "address_region", "birth": "date:to=month"}

func TestExportCSV(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		e := newExportEnv(t, b, 150)
		dir := t.TempDir()

		// As a role: the policy decides.
		out := filepath.Join(dir, "clerk.csv")
		sum, err := (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: b.name, Table: "citizen", Batch: 64,
			Principal: masking.Principal{ID: "exporter", Roles: []string{"clerk"}}, To: lifecycle.NewCSVSink(out)}).Run(t.Context())
		require.NoError(t, err)
		assert.EqualValues(t, 150, sum.Changed)
		rows := readCSV(t, out)
		require.Equal(t, []string{"id", "id_no", "phone", "name", "address", "birth", "city"}, rows[0], "blind-index columns are not exported")
		require.Len(t, rows, 151)
		for _, r := range rows[1:] {
			c := citizenOf(atoi(t, r[0]))
			assert.Regexp(t, `^\d{6}\*{8}\d{3}[\dX]$`, r[1])
			assert.Regexp(t, `^139\*{4}\d{4}$`, r[2])
			assert.NotEqual(t, c.name, r[3])
			assert.Equal(t, "bj", r[6])
		}
		assertNoFile(t, out+".part", out+".part.json")

		// Static masking with rules.
		out = filepath.Join(dir, "static.csv")
		sum, err = (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: b.name, Table: "citizen", Batch: 64,
			Principal: masking.Principal{ID: "exporter", Roles: []string{"clerk"}}, Rules: rules(t, staticRules), Reason: "TEST-1: test data",
			To: lifecycle.NewCSVSink(out)}).Run(t.Context())
		require.NoError(t, err)
		assert.EqualValues(t, 150*5, sum.Values)
		for _, r := range readCSV(t, out)[1:] {
			c := citizenOf(atoi(t, r[0]))
			assert.NotEqual(t, c.idNo, r[1])
			assert.GreaterOrEqual(t, masking.Validate(masking.KindIDCard, r[1]), 0.9, "a pseudonym's check digit is valid: %s", r[1])
			assert.Equal(t, c.idNo[:6], r[1][:6], "the region is kept")
			assert.NotEqual(t, c.phone, r[2])
			assert.Equal(t, 0.95, masking.Validate(masking.KindMobile, r[2]))
			assert.Equal(t, "北京市朝阳区", r[4])
			assert.Equal(t, c.birth[:7], r[5])
			if len([]rune(c.name)) > 1 {
				assert.NotEqual(t, c.name, r[3])
			}
			assert.NotContains(t, strings.Join(r, ","), c.idNo)
			assert.NotContains(t, strings.Join(r, ","), c.phone)
		}
	})
}

func atoi(t testing.TB, s string) int {
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

func assertNoFile(t testing.TB, paths ...string) {
	for _, p := range paths {
		_, err := os.Stat(p)
		assert.Truef(t, os.IsNotExist(err), "%s is left behind", p)
	}
}

func TestExportRefuses(t *testing.T) {
	e := newExportEnv(t, backends[0], 3)
	base := func() *lifecycle.Export {
		return &lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen",
			Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, To: lifecycle.NewCSVSink(filepath.Join(t.TempDir(), "o.csv"))}
	}
	cases := map[string]func(x *lifecycle.Export){
		"rules without a reason": func(x *lifecycle.Export) { x.Rules = rules(t, map[string]string{"phone": "mobile"}) },
		"a rule on the row key":  func(x *lifecycle.Export) { x.Rules, x.Reason = rules(t, map[string]string{"id": "mask_all"}), "r" },
		"a rule on no column":    func(x *lifecycle.Export) { x.Rules, x.Reason = rules(t, map[string]string{"nope": "mask_all"}), "r" },
		"a denied column":        func(x *lifecycle.Export) { x.Principal.Roles = []string{"analyst"} },
		"a blind index":          func(x *lifecycle.Export) { x.Columns = []string{"id_no_bidx"} },
		"an unknown table":       func(x *lifecycle.Export) { x.Table = "nope" },
		"an unknown column":      func(x *lifecycle.Export) { x.Columns = []string{"nope"} },
	}
	for name, edit := range cases {
		x := base()
		edit(x)
		_, err := x.Run(t.Context())
		assert.ErrorIs(t, err, lifecycle.ErrInvalid, name)
	}
	// The analyst may export what it may see, hashed.
	x := base()
	x.Principal.Roles, x.Columns = []string{"analyst"}, []string{"id_no", "phone"}
	_, err := x.Run(t.Context())
	require.NoError(t, err)
}

// failingSink fails the n-th write, as a crash or a lost connection would.
type failingSink struct {
	lifecycle.Sink
	n int
}

var errCrash = errors.New("crash")

func (s *failingSink) Write(ctx context.Context, rows [][]any, last string) error {
	if s.n--; s.n == 0 {
		return errCrash
	}
	return s.Sink.Write(ctx, rows, last)
}

func TestExportResumes(t *testing.T) {
	e := newExportEnv(t, backends[0], 200)
	dir := t.TempDir()
	target, tdsn := testdb.SQLite(t)
	_ = tdsn
	sinks := map[string]func() lifecycle.Sink{
		"csv":   func() lifecycle.Sink { return lifecycle.NewCSVSink(filepath.Join(dir, "r.csv")) },
		"table": func() lifecycle.Sink { return lifecycle.NewTableSink(target, "sqlite", "", "copy", false) },
	}
	for name, sink := range sinks {
		t.Run(name, func(t *testing.T) {
			x := func(s lifecycle.Sink) *lifecycle.Export {
				return &lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen", Batch: 32,
					Principal: masking.Principal{ID: "x", Roles: []string{"clerk"}}, Rules: rules(t, staticRules), Reason: "resume test", To: s}
			}
			_, err := x(&failingSink{Sink: sink(), n: 3}).Run(t.Context())
			require.ErrorIs(t, err, errCrash)
			sum, err := x(sink()).Run(t.Context())
			require.NoError(t, err)
			assert.True(t, sum.Resumed)
			assert.EqualValues(t, 200-64, sum.Changed, "the two batches written are not written again")
			ids := exportedIDs(t, name, dir, target)
			assert.Len(t, ids, 200)
			for i := 1; i <= 200; i++ {
				assert.Equal(t, 1, ids[i], "row %d once", i)
			}
			if name == "table" {
				_, err := x(sink()).Run(t.Context())
				assert.ErrorIs(t, err, lifecycle.ErrExists, "a finished export is not appended to")
				sum, err := x(lifecycle.NewTableSink(target, "sqlite", "", "copy", true)).Run(t.Context())
				require.NoError(t, err)
				assert.False(t, sum.Resumed)
				assert.Len(t, exportedIDs(t, name, dir, target), 200)
			}
		})
	}
}

func exportedIDs(t *testing.T, sink, dir string, target *sql.DB) map[int]int {
	ids := map[int]int{}
	if sink == "csv" {
		for _, r := range readCSV(t, filepath.Join(dir, "r.csv"))[1:] {
			ids[atoi(t, r[0])]++
		}
		return ids
	}
	rows, err := target.Query(`SELECT id FROM copy`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		ids[id]++
	}
	return ids
}

// TestExportPostgresToMariaDB exports both tables from PostgreSQL into
// MariaDB with pseudonyms and generalization, and checks that no original
// value of a masked column reaches MariaDB, that joins on the pseudonymized
// resident IDs still match, and that the pseudonyms' check digits are
// valid.
func TestExportPostgresToMariaDB(t *testing.T) {
	pg := backends[1]
	e := newExportEnv(t, pg, 120)
	my, _ := testdb.MySQL(t)
	for _, table := range []string{"citizen", "visit"} {
		sum, err := (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "postgres", Table: table, Batch: 50,
			Principal: masking.Principal{ID: "exporter", Roles: []string{"clerk"}}, Rules: rules(t, staticRules), Reason: "TEST-2: copy for the test department",
			To: lifecycle.NewTableSink(my, "mysql", "", table+"_test", false)}).Run(t.Context())
		if table == "visit" {
			// visit has no phone, name…: only the rules of its columns apply.
			require.ErrorIs(t, err, lifecycle.ErrInvalid)
			sum, err = (&lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "postgres", Table: table, Batch: 50,
				Principal: masking.Principal{ID: "exporter", Roles: []string{"clerk"}}, Rules: rules(t, map[string]string{"id_no": staticRules["id_no"]}),
				Reason: "TEST-2", To: lifecycle.NewTableSink(my, "mysql", "", table+"_test", false)}).Run(t.Context())
		}
		require.NoError(t, err)
		assert.Positive(t, sum.Changed)
	}
	var joined, distinct int
	require.NoError(t, my.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT c.id) FROM citizen_test c JOIN visit_test v ON v.id_no = c.id_no AND v.id IN (2*c.id, 2*c.id+1)`).Scan(&joined, &distinct))
	assert.Equal(t, 2*e.n, joined, "every visit joins its citizen on the pseudonymized ID, as in the source")
	assert.Equal(t, e.n, distinct)
	var loose int
	require.NoError(t, my.QueryRow(`SELECT COUNT(*) FROM citizen_test c JOIN visit_test v ON v.id_no = c.id_no`).Scan(&loose))
	assert.Equal(t, 2*e.n, loose, "and no other: distinct IDs get distinct pseudonyms")

	// No original value of a masked column anywhere in MariaDB.
	var originals []string
	for i := 1; i <= e.n; i++ {
		c := citizenOf(i)
		originals = append(originals, c.idNo, c.phone, c.address, c.birth)
		if len([]rune(c.name)) > 1 {
			originals = append(originals, c.name)
		}
	}
	for _, q := range []string{`SELECT id_no, phone, name, address, birth FROM citizen_test`, `SELECT id_no, clinic, '', '', '' FROM visit_test`} {
		rows, err := my.Query(q)
		require.NoError(t, err)
		for rows.Next() {
			var v [5]sql.NullString
			require.NoError(t, rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4]))
			all := v[0].String + "|" + v[1].String + "|" + v[2].String + "|" + v[3].String + "|" + v[4].String
			for _, o := range originals {
				require.NotContains(t, all, o)
			}
			assert.GreaterOrEqual(t, masking.Validate(masking.KindIDCard, v[0].String), 0.9, "valid check digit: %s", v[0].String)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	var clinic string
	require.NoError(t, my.QueryRow(`SELECT clinic FROM visit_test LIMIT 1`).Scan(&clinic))
	assert.Equal(t, "******", clinic, "the clerk's mask_all, by policy")
}

// auditRecorder keeps the events the driver records.
type auditRecorder struct {
	mu     sync.Mutex
	events []*audit.Event
}

func (r *auditRecorder) Record(_ context.Context, e *audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// TestExportAuditsRules checks that a rule's plain read is in the audit
// log as a column grant naming the reason, and that the grant covers
// only the rules' columns.
func TestExportAuditsRules(t *testing.T) {
	e := newExportEnv(t, backends[0], 10)
	rec := &auditRecorder{}
	e.cfg.Audit = rec
	src, err := sqldriver.Open("sqlite", e.dsn, e.cfg)
	require.NoError(t, err)
	defer src.Close()
	_, err = (&lifecycle.Export{Source: src, Config: e.cfg, Dialect: "sqlite", Table: "citizen",
		Principal: masking.Principal{ID: "exporter-7", Roles: []string{"clerk"}}, Rules: rules(t, map[string]string{"id_no": "pseudonym:type=id_card"}),
		Reason: "TICKET-42", To: lifecycle.NewCSVSink(filepath.Join(t.TempDir(), "a.csv"))}).Run(t.Context())
	require.NoError(t, err)
	found := false
	for _, ev := range rec.events {
		for _, g := range ev.Grants {
			assert.Equal(t, "citizen.id_no", g.Column, "only the rule's column is granted")
			if strings.Contains(g.Reason, "TICKET-42") && ev.Principal == "exporter-7" {
				found = true
			}
		}
	}
	assert.True(t, found, "the grant and its reason are audited: %d events", len(rec.events))
}
