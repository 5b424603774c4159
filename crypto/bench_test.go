package crypto

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

var benchSink []byte

// BenchmarkEnvelopeOverhead compares a bare gmsm SM4-GCM seal with this
// package's seal plus text encoding of the same 18-byte value under the
// same key. The ratio gmfield/raw is the envelope's cost.
func BenchmarkEnvelopeOverhead(b *testing.B) {
	secret := make([]byte, KeySize)
	_, _ = rand.Read(secret)
	value := []byte("11010519491231002X") // 18 bytes
	loc := Location{Table: "citizen", Column: "id_no", RowKey: "1001"}

	b.Run("raw", func(b *testing.B) {
		block, err := sm4.NewCipher(secret)
		if err != nil {
			b.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			nonce := make([]byte, NonceSize)
			_, _ = rand.Read(nonce)
			benchSink = aead.Seal(nil, nonce, value, nil)
		}
	})
	b.Run("gmfield", func(b *testing.B) {
		k, err := NewKey("citizen.id_no:1", "", SM4GCM, secret)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			benchSink, err = k.SealText(nil, loc, value)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

var benchSizes = []int{16, 64, 256, 4096}

func BenchmarkSeal(b *testing.B) {
	k := testKey(b, "citizen.id_no:1")
	loc := Location{Table: "citizen", Column: "id_no", RowKey: "1001"}
	for _, n := range benchSizes {
		value := make([]byte, n)
		b.Run(fmt.Sprintf("binary/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			var err error
			for b.Loop() {
				if benchSink, err = k.Seal(benchSink[:0], loc, value); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("text/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			var err error
			for b.Loop() {
				if benchSink, err = k.SealText(nil, loc, value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	k := testKey(b, "citizen.id_no:1")
	loc := Location{Table: "citizen", Column: "id_no", RowKey: "1001"}
	for _, n := range benchSizes {
		value := make([]byte, n)
		bin, err := k.Seal(nil, loc, value)
		if err != nil {
			b.Fatal(err)
		}
		txt, err := k.SealText(nil, loc, value)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("binary/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if benchSink, err = Open(benchSink[:0], k, loc, bin); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("text/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				if benchSink, err = OpenText(benchSink[:0], k, loc, txt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	r := testRoot(b)
	for _, c := range []struct {
		tr    Transform
		value string
	}{
		{TransformFull, "13800138000"},
		{TransformFull, "11010519491231002X"},
		{TransformFull, "北京市海淀区中关村大街27号"},
		{TransformDigits, "+86 138-0013-8000"},
		{TransformLast4, "13800138000"},
		{TransformLower, "ZhangSan@Example.GOV.cn"},
	} {
		ix, err := r.Index(IndexSpec{Table: "citizen", Column: "c", Transform: c.tr})
		if err != nil {
			b.Fatal(err)
		}
		v := []byte(c.value)
		b.Run(fmt.Sprintf("%s/%d", c.tr, len(v)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if benchSink, err = ix.SumHex(benchSink[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewKey(b *testing.B) {
	secret := make([]byte, KeySize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewKey("k", "", SM4GCM, secret); err != nil {
			b.Fatal(err)
		}
	}
}
