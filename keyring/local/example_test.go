package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring/local"
)

func ExampleInit() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "keys")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "keys")

	// What `gmfield keyring init --dir DIR --kek sm4` does.
	if _, err := local.Init(ctx, dir, local.KEKConfig{Kind: "sm4"}); err != nil {
		panic(err)
	}
	k, err := local.Open(dir) // later, in the application
	if err != nil {
		panic(err)
	}
	loc := crypto.Location{Keyspace: "citizen.id_no", Table: "citizen", Column: "id_no"}
	key, _ := k.Current(ctx, "citizen.id_no")
	stored, _ := key.SealText(nil, loc, []byte("11010519491231002X"))

	// Rotate the KEK: every DEK is rewrapped, no value changes.
	n, _ := local.RotateKEK(ctx, dir, "")
	k, _ = local.Open(dir)
	plain, _ := crypto.OpenText(nil, k, loc, stored)
	fmt.Println(n, string(plain))
	// Output: 2 11010519491231002X
}
