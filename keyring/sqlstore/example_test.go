package sqlstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/keyring/sqlstore"
)

func Example() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "db")
	defer os.RemoveAll(tmp)
	db, _ := sql.Open("sqlite", filepath.Join(tmp, "app.db"))
	defer db.Close()

	// The wrapped DEKs live in gmfield_keys, beside the application's tables.
	store, _ := sqlstore.New(db, sqlstore.SQLite, "")
	if err := store.Init(ctx); err != nil {
		panic(err)
	}
	kek, _ := local.NewSM4(bytes.Repeat([]byte{7}, 16))
	k := keyring.New(store, kek)
	key, _ := k.Current(ctx, "citizen.phone")
	loc := crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone"}
	stored, _ := key.SealText(nil, loc, []byte("13800138000"))
	plain, _ := crypto.OpenText(nil, k, loc, stored)

	var n int
	db.QueryRow("SELECT count(*) FROM gmfield_keys").Scan(&n)
	fmt.Println(string(plain), n)
	// Output: 13800138000 1
}
