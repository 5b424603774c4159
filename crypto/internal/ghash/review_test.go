package ghash

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
)

// refSum is GHASH from Update over the padded whole (independent of the
// sumShort layout and the held-bytes logic).
func refSum(k *Key, aad, ct []byte) [16]byte {
	var y [16]byte
	k.UpdatePadded(&y, aad)
	k.UpdatePadded(&y, ct)
	var l [16]byte
	binary.BigEndian.PutUint64(l[:8], uint64(len(aad))*8)
	binary.BigEndian.PutUint64(l[8:], uint64(len(ct))*8)
	k.Update(&y, l[:])
	return y
}

// TestReviewSumAfterEverySplit: every prefix 0…96, every rest 0…48 and
// ciphertexts around both one-call limits (64 and 256 bytes padded).
func TestReviewSumAfterEverySplit(t *testing.T) {
	var h [16]byte
	_, _ = rand.Read(h[:])
	k := New(&h)
	aad := make([]byte, 96+48)
	ct := make([]byte, 300)
	_, _ = rand.Read(aad)
	_, _ = rand.Read(ct)
	cts := []int{0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 200, 207, 208, 209, 224, 225, 240, 241, 256, 257, 300}
	for pre := 0; pre <= 96; pre++ {
		var p Prefix
		k.Reset(&p, aad[:pre])
		for rest := 0; rest <= 48; rest++ {
			for _, c := range cts {
				a := aad[:pre+rest]
				if k.SumAfter(&p, a[pre:], ct[:c]) != refSum(k, a, ct[:c]) {
					t.Fatalf("prefix %d rest %d ct %d", pre, rest, c)
				}
			}
		}
	}
}
