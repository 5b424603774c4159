// Command sqlx runs github.com/jmoiron/sqlx over gmfield's SQL driver:
// struct scans with Get and Select (SELECT * included: the driver leaves
// the blind-index columns out of it), NamedExec, sqlx.In, an update and a
// delete, as an admin who reads plaintext and a clerk who reads masked
// values. The ID number, phone and name are sealed with SM4-GCM; the
// lookups by phone and ID number go through HMAC-SM3 blind indexes.
//
//	go run ./examples/sqlx                                   # embedded SQLite in a temporary directory
//	go run ./examples/sqlx -driver pgx -dsn 'postgres://…'    # or -driver postgres (lib/pq)
//	go run ./examples/sqlx -driver mysql -dsn 'root@tcp(127.0.0.1:3306)/test'
//
// It drops and creates the table sqlx_citizen, and writes a new local SM4
// key ring (demo only: the master key is in the directory) and its
// configuration in a temporary directory.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	_ "github.com/go-sql-driver/mysql" // registers mysql
	_ "github.com/jackc/pgx/v5/stdlib" // registers pgx
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // registers postgres
	_ "modernc.org/sqlite" // registers sqlite

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// configYAML protects three columns of sqlx_citizen (docs/config.md).
const configYAML = `keyring: {provider: local-sm4, dir: keys}
tables:
  sqlx_citizen:
    row_key: id                  # client-assigned ids: bound into every value's AAD
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full}}
      name:  {mask: chinese_name}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  default: {default: "null"}
`

// The blind-index columns are part of the table (the driver fills them),
// not of the model.
const ddl = `CREATE TABLE sqlx_citizen (
	id         BIGINT PRIMARY KEY,
	id_no      VARCHAR(255) NOT NULL,
	id_no_bidx VARCHAR(64),
	phone      VARCHAR(255),
	phone_bidx VARCHAR(64),
	name       VARCHAR(255) NOT NULL,
	city       VARCHAR(64))`

// IDNumber is a resident ID number; a named string type binds and scans
// as its text.
type IDNumber string

// Citizen maps sqlx_citizen. It has no field for id_no_bidx or phone_bidx:
// SELECT * does not return them, so sqlx's strict mapping is satisfied.
type Citizen struct {
	ID    int64    `db:"id"`
	IDNo  IDNumber `db:"id_no"`
	Phone *string  `db:"phone"` // NULL stays NULL, and so do its indexes
	Name  string   `db:"name"`
	City  string   `db:"city"`
}

func (c Citizen) String() string {
	phone := "NULL"
	if c.Phone != nil {
		phone = *c.Phone
	}
	return fmt.Sprintf("id=%d id_no=%s phone=%s name=%s city=%s", c.ID, c.IDNo, phone, c.Name, c.City)
}

func ptr(s string) *string { return &s }

var citizens = []Citizen{
	{1, "11010519491231002X", ptr("13800138000"), "张三", "北京"},
	{2, "440301198807071234", ptr("13912345678"), "李四", "深圳"},
	{3, "310101200001010012", nil, "欧阳娜娜", "上海"},
}

// Options say where the example runs.
type Options struct {
	Driver string // sqlite, pgx, postgres (lib/pq) or mysql
	DSN    string // default for sqlite: a new file in Dir
	Dir    string // where the key ring and configuration go; default a new temporary directory
}

func main() {
	var o Options
	flag.StringVar(&o.Driver, "driver", envOr("GMFIELD_EXAMPLE_DRIVER", "sqlite"), "database/sql driver: sqlite, pgx, postgres or mysql")
	flag.StringVar(&o.DSN, "dsn", os.Getenv("GMFIELD_EXAMPLE_DSN"), "data source name (default for sqlite: a new file in a temporary directory)")
	flag.Parse()
	if err := run(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "sqlx example:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// sqlxName is the name sqlx knows each driver's placeholders by.
var sqlxName = map[string]string{"sqlite": "sqlite3", "pgx": "pgx", "postgres": "postgres", "mysql": "mysql"}

func run(w io.Writer, o Options) error {
	ctx := context.Background()
	bind, ok := sqlxName[o.Driver]
	if !ok {
		return fmt.Errorf("unknown driver %q", o.Driver)
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "gmfield-sqlx-")
		if err != nil {
			return err
		}
		o.Dir = dir
	}
	if o.DSN == "" && o.Driver == "sqlite" {
		o.DSN = filepath.Join(o.Dir, "citizen.db")
	}
	// A local key ring and the configuration that names it.
	if _, err := local.Init(ctx, filepath.Join(o.Dir, "keys"), local.KEKConfig{Kind: "sm4"}); err != nil {
		return err
	}
	cfg, err := config.Parse([]byte(configYAML), o.Dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "driver: %s\nkey ring: %s\n\n", o.Driver, filepath.Join(o.Dir, "keys"))

	// The wrapped *sql.DB, and sqlx over it.
	db, err := sqldriver.Open(o.Driver, o.DSN, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	x := sqlx.NewDb(db, bind)
	admin := sqldriver.WithRoles(ctx, "ops-1", "admin")
	clerk := sqldriver.WithRoles(ctx, "desk-7", "clerk")

	for _, q := range []string{`DROP TABLE IF EXISTS sqlx_citizen`, ddl, `CREATE INDEX sqlx_citizen_phone_bidx ON sqlx_citizen (phone_bidx)`} {
		if _, err := x.ExecContext(admin, q); err != nil {
			return err
		}
	}

	// NamedExec: sqlx turns :name into the driver's placeholders (and a
	// slice into a multi-row INSERT) before gmfield sees the statement.
	if _, err := x.NamedExecContext(admin, `INSERT INTO sqlx_citizen (id, id_no, phone, name, city)
		VALUES (:id, :id_no, :phone, :name, :city)`, citizens); err != nil {
		return err
	}
	fmt.Fprintf(w, "NamedExec: inserted %d citizens\n\n", len(citizens))

	// What is stored, read with the inner driver alone (no keys).
	raw, err := sql.Open(o.Driver, o.DSN)
	if err != nil {
		return err
	}
	defer raw.Close()
	var idNo, phone, phoneIdx string
	if err := raw.QueryRowContext(ctx, x.Rebind(`SELECT id_no, phone, phone_bidx FROM sqlx_citizen WHERE id = ?`), 1).Scan(&idNo, &phone, &phoneIdx); err != nil {
		return err
	}
	fmt.Fprintf(w, "Stored (raw handle, no keys), id=1:\n  id_no=%s\n  phone=%s\n  phone_bidx=%s\n\n", idNo, phone, phoneIdx)

	// Select with SELECT *, as each role.
	for _, as := range []struct {
		role string
		ctx  context.Context
	}{{"admin", admin}, {"clerk", clerk}} {
		var all []Citizen
		if err := x.SelectContext(as.ctx, &all, `SELECT * FROM sqlx_citizen ORDER BY id`); err != nil {
			return err
		}
		fmt.Fprintf(w, "Select * as %s:\n", as.role)
		for _, c := range all {
			fmt.Fprintf(w, "  %s\n", c)
		}
		fmt.Fprintln(w)
	}

	// Get by phone: the equality becomes phone_bidx = index(value). The
	// argument is a *string, as a model field would give it.
	var c Citizen
	if err := x.GetContext(clerk, &c, x.Rebind(`SELECT * FROM sqlx_citizen WHERE phone = ?`), ptr("13912345678")); err != nil {
		return err
	}
	fmt.Fprintf(w, "Get by phone 13912345678 (clerk):\n  %s\n\n", c)

	// sqlx.In expands the slice into IN (?, ?), searched through id_no_bidx.
	q, args, err := sqlx.In(`SELECT id, name FROM sqlx_citizen WHERE id_no IN (?) ORDER BY id`,
		[]IDNumber{"11010519491231002X", "310101200001010012"})
	if err != nil {
		return err
	}
	var found []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := x.SelectContext(admin, &found, x.Rebind(q), args...); err != nil {
		return err
	}
	fmt.Fprint(w, "In by id_no (admin):")
	for _, f := range found {
		fmt.Fprintf(w, " id=%d name=%s", f.ID, f.Name)
	}
	fmt.Fprint(w, "\n\n")

	// Update through NamedExec: the row key in the WHERE binds the new
	// value to its row; the driver adds phone_bidx = … to the SET.
	c = Citizen{ID: 3, Phone: ptr("18600001234")}
	if _, err := x.NamedExecContext(admin, `UPDATE sqlx_citizen SET phone = :phone WHERE id = :id`, c); err != nil {
		return err
	}
	if err := x.GetContext(clerk, &c, x.Rebind(`SELECT * FROM sqlx_citizen WHERE phone = ?`), "18600001234"); err != nil {
		return err
	}
	fmt.Fprintf(w, "Updated id=3's phone; found by it (clerk):\n  %s\n\n", c)

	// Delete by a protected column.
	res, err := x.ExecContext(admin, x.Rebind(`DELETE FROM sqlx_citizen WHERE phone = ?`), "13800138000")
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	var left int
	if err := x.GetContext(admin, &left, `SELECT count(*) FROM sqlx_citizen`); err != nil {
		return err
	}
	fmt.Fprintf(w, "Deleted by phone 13800138000: %d row; %d left\n", n, left)
	return nil
}
