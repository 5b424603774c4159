package crypto_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/gmfield/gmfield/crypto"
)

func Example() {
	// In production the key comes from a keyring; never hard-code one.
	key, err := crypto.NewKey("k0123456789abcdef", "citizen.phone", crypto.SM4GCM, bytes.Repeat([]byte{0x42}, crypto.KeySize))
	if err != nil {
		panic(err)
	}
	loc := crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone", RowKey: "1001"}

	stored, err := key.SealText(nil, loc, []byte("13800138000"))
	if err != nil {
		panic(err)
	}
	fmt.Println(string(stored[:5]), len(stored))

	plain, err := crypto.OpenText(nil, key, loc, stored)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(plain))

	// The same value copied to another row does not open.
	_, err = crypto.OpenText(nil, key, crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone", RowKey: "1002"}, stored)
	fmt.Println(errors.Is(err, crypto.ErrAuthentication))

	// The DEK of citizen.phone opens nothing of another keyspace.
	_, err = crypto.OpenText(nil, key, crypto.Location{Keyspace: "citizen.id_no", Table: "citizen", Column: "id_no", RowKey: "1001"}, stored)
	fmt.Println(errors.Is(err, crypto.ErrKeyMismatch))
	// Output:
	// gmf2: 85
	// 13800138000
	// true
	// true
}

func ExampleParseText() {
	key, _ := crypto.NewKey("k-2026-11", "", crypto.SM4GCM, make([]byte, crypto.KeySize))
	stored, _ := key.SealText(nil, crypto.Location{Table: "citizen", Column: "name"}, []byte("张三"))

	e, err := crypto.ParseText(stored)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Version, e.Algorithm, e.KeyID)
	// Output: 2 SM4-GCM k-2026-11
}

func ExampleIndex() {
	root, err := crypto.NewIndexRoot(bytes.Repeat([]byte{7}, crypto.IndexRootSize))
	if err != nil {
		panic(err)
	}
	ix, err := root.Index(crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformDigits})
	if err != nil {
		panic(err)
	}
	a, _ := ix.SumHex(nil, []byte("138-0013-8000"))
	b, _ := ix.SumHex(nil, []byte("１３８００１３８０００"))
	fmt.Println(len(a), string(a) == string(b))
	// Output: 32 true
}

func ExampleSM2PublicKey_Encrypt() {
	priv, err := crypto.GenerateSM2Key()
	if err != nil {
		panic(err)
	}
	dek := bytes.Repeat([]byte{0x5a}, crypto.KeySize)
	wrapped, _ := priv.Public().Encrypt(dek) // GM/T 0009 ASN.1 (C1C3C2)
	unwrapped, _ := priv.Decrypt(wrapped)
	fmt.Println(bytes.Equal(dek, unwrapped))
	// Output: true
}

// A batch of values sealed and opened together: each value keeps its own
// nonce and row key, and one value that fails does not stop the others.
func ExampleSealer() {
	key, err := crypto.NewKey("k0123456789abcdef", "citizen.phone", crypto.SM4GCM, bytes.Repeat([]byte{0x42}, crypto.KeySize))
	if err != nil {
		panic(err)
	}
	at := func(row string) crypto.Location {
		return crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone", RowKey: row}
	}
	var s crypto.Sealer
	sealed := []crypto.SealItem{
		{Key: key, Loc: at("1001"), Plain: []byte("13800138000"), Text: true},
		{Key: key, Loc: at("1002"), Plain: []byte("13912345678"), Text: true},
	}
	s.Seal(nil, sealed)

	var o crypto.Opener
	items := []crypto.Item{
		{Loc: at("1001"), Stored: sealed[0].Sealed, Text: true},
		{Loc: at("1002"), Stored: sealed[1].Sealed, Text: true},
		{Loc: at("1003"), Stored: sealed[1].Sealed, Text: true}, // moved to another row
	}
	o.Open(nil, key, items)
	for _, it := range items {
		fmt.Println(string(it.Plain), errors.Is(it.Err, crypto.ErrAuthentication))
	}
	// Output:
	// 13800138000 false
	// 13912345678 false
	//  true
}
