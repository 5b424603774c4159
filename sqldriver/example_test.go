package sqldriver_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

// Open an SQLite database through gmfield, write a row with the
// application's own SQL, and read it back as two roles.
func Example() {
	dir, _ := os.MkdirTemp("", "gmfield-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	if _, err := local.Init(ctx, filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"}); err != nil {
		log.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
keyring: {dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      phone: {mask: mobile, index: {phone_bidx: full}}
roles:
  admin: {default: plain}
  clerk: {default: mask}
`), dir)
	if err != nil {
		log.Fatal(err)
	}
	db, err := sqldriver.Open("sqlite", filepath.Join(dir, "app.db"), cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	admin := sqldriver.WithRoles(ctx, "ops", "admin")
	if _, err := db.ExecContext(admin, `CREATE TABLE citizen (id INTEGER PRIMARY KEY, phone TEXT, phone_bidx TEXT)`); err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(admin, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 1, "13800138000"); err != nil {
		log.Fatal(err)
	}
	for _, role := range []string{"admin", "clerk"} {
		var phone string
		err := db.QueryRowContext(sqldriver.WithRoles(ctx, "u1", role), `SELECT phone FROM citizen WHERE phone = ?`, "13800138000").Scan(&phone)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(role, phone)
	}
	raw, _ := sql.Open("sqlite", filepath.Join(dir, "app.db"))
	defer raw.Close()
	var stored string
	_ = raw.QueryRow(`SELECT phone FROM citizen`).Scan(&stored)
	fmt.Println(stored[:5])
	// Output:
	// admin 13800138000
	// clerk 138****8000
	// gmf2:
}
