// Command quickstart runs gmfield's SQL driver over an embedded SQLite
// database: it creates the database and a local SM4 key ring beside it,
// writes a citizen table through the driver, and shows the ciphertext that
// is stored, what an admin, a clerk and an auditor each read, and a lookup
// by phone number through the blind index; then the guard refusing a
// clerk's DELETE of every row and an intern's bulk read, and stopping a
// result at the intern's decryption budget. Every statement is recorded
// in a tamper-evident audit log beside the database, verified at the end
// as `gmfield audit verify` does. No server is needed.
//
//	go run ./examples/quickstart [-db PATH]
//
// Run it twice with the same -db to read the same rows again with the same
// keys.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	_ "modernc.org/sqlite"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// configYAML is written beside the database as PATH.gmfield.yaml.
const configYAML = `# gmfield driver configuration (docs/config.md)
keyring: {provider: local-sm4, dir: %s}
tables:
  citizen:
    row_key: id
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full, phone_last4_bidx: last4}}
      name:  {mask: chinese_name}
      address: {mask: {function: address, params: {keep_first: 6}}}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  auditor: {default: mask, columns: {citizen.phone: plain}}
  intern:  {default: mask}
  default: {default: "null"}
guard:                        # docs/guard.md
  roles:
    clerk:   {per_statement: 20, budget: 500/1h}
    intern:  {per_statement: 4, bulk: false}
    default: {}               # every other role: no limits, no high-risk permission
audit:
  dir: %s
  key: %s
  mode: sync
  instance: quickstart
`

var citizens = []struct {
	id                         int
	name, idNo, phone, address string
}{
	{1001, "张三", "11010519491231002X", "13800138000", "北京市东城区景山前街4号"},
	{1002, "李四", "440301198807071234", "13912345678", "广东省深圳市福田区福华三路"},
	{1003, "欧阳娜娜", "310101200001010012", "18600001234", "上海市黄浦区人民大道200号"},
}

func main() {
	dbPath := flag.String("db", "", "SQLite database file (default: a new file in a temporary directory)")
	flag.Parse()
	if err := run(os.Stdout, *dbPath); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dbPath string) error {
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "gmfield-quickstart-")
		if err != nil {
			return err
		}
		dbPath = filepath.Join(dir, "citizen.db")
	}
	dbPath, err := filepath.Abs(dbPath)
	if err != nil {
		return err
	}
	keys := dbPath + ".keys"
	cfgPath := dbPath + ".gmfield.yaml"
	auditDir, auditKey := dbPath+".audit", dbPath+".audit-key.pem"
	fmt.Fprintf(w, "database: %s\nkey ring: %s (SM4 master key inside: demo only)\nconfig:   %s\naudit:    %s\n\n", dbPath, keys, cfgPath, auditDir)
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(keys, "keyring.json")); errors.Is(err, os.ErrNotExist) {
		if _, err := local.Init(ctx, keys, local.KEKConfig{Kind: "sm4"}); err != nil {
			return err
		}
	}
	// The key that signs the audit log's checkpoints (gmfield audit keygen).
	if _, err := os.Stat(auditKey); errors.Is(err, os.ErrNotExist) {
		if err := newAuditKey(auditKey); err != nil {
			return err
		}
	}
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(configYAML, filepath.Base(keys), filepath.Base(auditDir), filepath.Base(auditKey))), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	db, err := sqldriver.Open("sqlite", dbPath, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	// The application's SQL, unchanged: the driver seals the protected
	// values and fills the blind-index columns it adds to the INSERT.
	admin := sqldriver.WithRoles(ctx, "ops-1", "admin")
	if _, err := db.ExecContext(admin, `CREATE TABLE IF NOT EXISTS citizen (
		id INTEGER PRIMARY KEY, name TEXT, id_no TEXT, id_no_bidx TEXT,
		phone TEXT, phone_bidx TEXT, phone_last4_bidx TEXT, address TEXT)`); err != nil {
		return err
	}
	for _, c := range citizens {
		if _, err := db.ExecContext(admin, `INSERT INTO citizen (id, name, id_no, phone, address) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, c.id, c.name, c.idNo, c.phone, c.address); err != nil {
			return err
		}
	}

	// What is stored: read the file with the plain SQLite driver.
	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		return err
	}
	defer raw.Close()
	fmt.Fprintln(w, "Stored in the database file (plain SQLite driver, no keys):")
	var id int
	var phone, phoneIdx string
	if err := raw.QueryRow(`SELECT id, phone, phone_bidx FROM citizen ORDER BY id LIMIT 1`).Scan(&id, &phone, &phoneIdx); err != nil {
		return err
	}
	fmt.Fprintf(w, "  id=%d phone=%s\n       phone_bidx=%s\n\n", id, phone, phoneIdx)

	const query = `SELECT id, name, id_no, phone, address FROM citizen ORDER BY id`
	for _, role := range []string{"admin", "clerk", "auditor", "visitor"} {
		fmt.Fprintf(w, "As %s:\n", role)
		if err := show(w, db, sqldriver.WithRoles(ctx, "user-1", role), query); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "Lookup by phone through the blind index (clerk):")
	lookup := `SELECT id, name, phone FROM citizen WHERE phone = ?`
	fmt.Fprintf(w, "  %s  ['13912345678']\n", lookup)
	var name string
	clerk := sqldriver.WithRoles(ctx, "user-2", "clerk")
	if err := db.QueryRowContext(clerk, lookup, "13912345678").Scan(&id, &name, &phone); err != nil {
		return err
	}
	fmt.Fprintf(w, "  found id=%d name=%s phone=%s\n", id, name, phone)
	if err := db.QueryRowContext(clerk, `SELECT id FROM citizen WHERE phone LIKE '%1234'`).Scan(&id); err != nil {
		return err
	}
	fmt.Fprintf(w, "  LIKE '%%1234' (last4 index): id=%d\n\n", id)

	_, err = db.QueryContext(admin, `SELECT id FROM citizen ORDER BY phone`)
	fmt.Fprintf(w, "Refused: ORDER BY phone\n  %v\n  errors.Is(err, sqldriver.ErrRefused) = %v\n\n", err, errors.Is(err, sqldriver.ErrRefused))

	fmt.Fprintln(w, "Guard (docs/guard.md):")
	_, err = db.ExecContext(clerk, `DELETE FROM citizen`)
	fmt.Fprintf(w, "  clerk: DELETE FROM citizen\n    %v\n", err)
	intern := sqldriver.WithRoles(ctx, "intern-1", "intern")
	_, err = db.QueryContext(intern, `SELECT name, phone FROM citizen`)
	fmt.Fprintf(w, "  intern: SELECT name, phone FROM citizen\n    %v\n", err)
	rows, err := db.QueryContext(intern, `SELECT name, phone FROM citizen WHERE id > ? ORDER BY id`, 0)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "  intern: SELECT name, phone FROM citizen WHERE id > ? ORDER BY id")
	for rows.Next() {
		if err := rows.Scan(&name, &phone); err != nil {
			return err
		}
		fmt.Fprintf(w, "    %s %s\n", name, phone)
	}
	fmt.Fprintf(w, "    %v\n    errors.Is(err, guard.ErrBudgetExceeded) = %v\n\n", rows.Err(), errors.Is(rows.Err(), guard.ErrBudgetExceeded))
	if err := rows.Close(); err != nil {
		return err
	}

	// Closing the database flushes the audit log and signs a checkpoint.
	if err := db.Close(); err != nil {
		return err
	}
	return showAudit(w, auditDir, auditKey+".pub")
}

// showAudit prints who read which column in this run, and the log's
// verification, as `gmfield audit query` and `gmfield audit verify` do.
func showAudit(w io.Writer, dir, pubPath string) error {
	pem, err := os.ReadFile(pubPath)
	if err != nil {
		return err
	}
	pub, err := crypto.ParseSM2PublicKeyPEM(pem)
	if err != nil {
		return err
	}
	v, err := audit.NewVerifier(audit.DefaultOrigin, pub)
	if err != nil {
		return err
	}
	src := audit.DirSource(dir)
	fmt.Fprintln(w, "Audit log: the reads of citizen.phone (gmfield audit query --column citizen.phone):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	err = audit.Query(context.Background(), src, audit.Filter{Column: "citizen.phone"}, func(e *audit.Event) error {
		for _, c := range e.Columns {
			if c.Column == "citizen.phone" {
				fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\trows=%d\tdecrypted=%d\t%s\n", e.Index, e.Principal, strings.Join(e.Roles, ","), e.Kind, c.Action, e.Rows, e.Decrypted, e.Outcome)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r, err := audit.Verify(context.Background(), src, v)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ngo run ./cmd/gmfield audit verify --log %s --pubkey %s\n%s", dir, pubPath, r)
	return r.Err()
}

// newAuditKey writes a new SM2 key pair, path and path+".pub", as
// gmfield audit keygen does.
func newAuditKey(path string) error {
	k, err := crypto.GenerateSM2Key()
	if err != nil {
		return err
	}
	priv, err := k.MarshalPEM()
	if err != nil {
		return err
	}
	pub, err := k.Public().MarshalPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
		return err
	}
	return os.WriteFile(path, priv, 0o600)
}

func show(w io.Writer, db *sql.DB, ctx context.Context, query string) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for rows.Next() {
		var id int
		var name, idNo, phone, address sql.NullString
		if err := rows.Scan(&id, &name, &idNo, &phone, &address); err != nil {
			return err
		}
		cells := []string{fmt.Sprint(id)}
		for _, v := range []sql.NullString{name, idNo, phone, address} {
			if v.Valid {
				cells = append(cells, v.String)
			} else {
				cells = append(cells, "NULL")
			}
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return nil
}
