// Command quickstart seals and opens a few citizen fields with gmfield's
// crypto package: the text form that would be stored, the blind index used
// for equality search, and what happens to a value moved to another row.
//
// Keys are generated fresh in memory for the demo; a real deployment gets
// them from a key ring.
//
//	go run ./examples/quickstart
package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gmfield/gmfield/crypto"
)

type citizen struct {
	id                string
	name, idNo, phone string
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	secret := make([]byte, crypto.KeySize)
	rootSecret := make([]byte, crypto.IndexRootSize)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(rootSecret)
	dek, err := crypto.NewKey("citizen:1", crypto.SM4GCM, secret)
	if err != nil {
		return err
	}
	root, err := crypto.NewIndexRoot(rootSecret)
	if err != nil {
		return err
	}
	phoneIdx, err := root.Index(crypto.IndexSpec{Table: "citizen", Column: "phone", Transform: crypto.TransformDigits})
	if err != nil {
		return err
	}

	rows := []citizen{
		{"1001", "张三", "11010519491231002X", "13800138000"},
		{"1002", "欧阳娜娜", "440106199003070312", "139-1234-5678"},
		{"1003", "李四", "310104198512120019", "+86 186 0000 1111"},
	}
	stored := make([]map[string][]byte, len(rows))
	fmt.Fprintln(w, "== stored (what the database and its backups hold)")
	for i, r := range rows {
		stored[i] = map[string][]byte{}
		for col, v := range map[string]string{"name": r.name, "id_no": r.idNo, "phone": r.phone} {
			loc := crypto.Location{Table: "citizen", Column: col, RowKey: r.id}
			ct, err := dek.SealText(nil, loc, []byte(v))
			if err != nil {
				return err
			}
			stored[i][col] = ct
		}
		bidx, err := phoneIdx.SumHex(nil, []byte(r.phone))
		if err != nil {
			return err
		}
		stored[i]["phone_bidx"] = bidx
		fmt.Fprintf(w, "id=%s phone=%s…(%d chars) phone_bidx=%s\n", r.id, stored[i]["phone"][:24], len(stored[i]["phone"]), bidx)
	}

	fmt.Fprintln(w, "\n== opened with the key, at the right place")
	for i, r := range rows {
		var out []string
		for _, col := range []string{"name", "id_no", "phone"} {
			pt, err := crypto.OpenText(nil, dek, crypto.Location{Table: "citizen", Column: col, RowKey: r.id}, stored[i][col])
			if err != nil {
				return err
			}
			out = append(out, string(pt))
		}
		fmt.Fprintf(w, "id=%s %v\n", r.id, out)
	}

	fmt.Fprintln(w, "\n== lookup by phone through the blind index (full-width input, no separators)")
	want, err := phoneIdx.SumHex(nil, []byte("１３９１２３４５６７８"))
	if err != nil {
		return err
	}
	for i, r := range rows {
		if string(stored[i]["phone_bidx"]) == string(want) {
			fmt.Fprintf(w, "found id=%s\n", r.id)
		}
	}

	fmt.Fprintln(w, "\n== a value copied into another row does not open")
	_, err = crypto.OpenText(nil, dek, crypto.Location{Table: "citizen", Column: "id_no", RowKey: "1002"}, stored[0]["id_no"])
	fmt.Fprintf(w, "errors.Is(err, crypto.ErrAuthentication) = %v (%v)\n", errors.Is(err, crypto.ErrAuthentication), err)
	if !errors.Is(err, crypto.ErrAuthentication) {
		return errors.New("moved value opened")
	}
	return nil
}
