package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keys")
	defer os.RemoveAll(dir)

	// DEKs wrapped by a local SM4 master key, stored in a directory.
	store, _ := keyring.OpenDir(dir)
	kek, _ := local.NewSM4(bytes.Repeat([]byte{0x42}, 16)) // from a file or $GMFIELD_MASTER_KEY in production
	k := keyring.New(store, kek)

	// The place of a value, with the keyspace it maps to: "citizen.phone".
	loc, _ := keyring.PerColumn.Locate("", crypto.Location{Table: "citizen", Column: "phone", RowKey: "1001"})
	key, _ := k.Current(ctx, loc.Keyspace)
	stored, _ := key.SealText(nil, loc, []byte("13800138000"))

	// Rotation keeps old values readable: the value names its DEK.
	k.Rotate(ctx, "citizen.phone")
	plain, _ := crypto.OpenText(nil, k, loc, stored)
	fmt.Println(string(plain))

	// Crypto-shredding: destroy the DEK and the value is gone for good.
	k.Destroy(ctx, key.ID())
	_, err := crypto.OpenText(nil, k, loc, stored)
	fmt.Println(errors.Is(err, keyring.ErrKeyDestroyed))
	// Output:
	// 13800138000
	// true
}
