package ghash

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mulRef is the multiplication of SP 800-38D §6.3, bit by bit.
func mulRef(x, y [16]byte) [16]byte {
	var z [16]byte
	v := y
	for i := range 128 {
		if x[i/8]>>(7-i%8)&1 == 1 {
			for j := range z {
				z[j] ^= v[j]
			}
		}
		lsb := v[15] & 1
		for j := 15; j > 0; j-- {
			v[j] = v[j]>>1 | v[j-1]<<7
		}
		v[0] >>= 1
		if lsb == 1 {
			v[0] ^= 0xe1
		}
	}
	return z
}

func updateRef(h [16]byte, y *[16]byte, blocks []byte) {
	for ; len(blocks) > 0; blocks = blocks[16:] {
		var x [16]byte
		for i := range x {
			x[i] = y[i] ^ blocks[i]
		}
		*y = mulRef(x, h)
	}
}

func unhex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// TestVector is test case 2 of the GCM specification (McGrew and Viega):
// GHASH(H, {}, C).
func TestVector(t *testing.T) {
	var h [16]byte
	copy(h[:], unhex(t, "66e94bd4ef8a2c3b884cfa59ca342b2e"))
	want := unhex(t, "f38cbb1ad69223dcc3457ae5b6b0f885")
	c := unhex(t, "0388dace60b6a392f328c2b971b2fe78")
	for _, impl := range impls() {
		k := New(&h)
		var y, lens [16]byte
		impl.update(k, &y, c)
		lens[15] = 128
		impl.update(k, &y, lens[:])
		assert.Equal(t, want, y[:], impl.name)
	}
	k := New(&h)
	got := k.Sum(nil, c)
	assert.Equal(t, want, got[:])
}

type impl struct {
	name   string
	update func(k *Key, y *[16]byte, blocks []byte)
}

func impls() []impl {
	out := []impl{{"generic", updateGeneric}, {"reference", func(k *Key, y *[16]byte, b []byte) {
		var h [16]byte
		for i := range 16 {
			h[i] = k.pow[0][15-i]
		}
		updateRef(h, y, b)
	}}}
	if Accelerated {
		out = append(out, impl{"accelerated", update})
	}
	return out
}

// TestAcceleratedWhenRequired fails if GMFIELD_TEST_GHASH_ACCELERATED=1
// and Update is not accelerated: scripts/test.sh sets it for the arm64
// tests under qemu, so that they cannot pass on the pure-Go path alone.
func TestAcceleratedWhenRequired(t *testing.T) {
	if os.Getenv("GMFIELD_TEST_GHASH_ACCELERATED") != "1" {
		t.Skip("GMFIELD_TEST_GHASH_ACCELERATED is not 1")
	}
	require.True(t, Accelerated, "Update is not accelerated on this CPU")
}

// TestImplementationsAgree runs every implementation on random keys,
// states and lengths against the bit-by-bit reference.
func TestImplementationsAgree(t *testing.T) {
	t.Logf("accelerated: %v", Accelerated)
	r := mrand.New(mrand.NewPCG(1, 2))
	for n := range 300 {
		var h, y0 [16]byte
		_, _ = rand.Read(h[:])
		_, _ = rand.Read(y0[:])
		if n%7 == 0 {
			h = [16]byte{} // zero and one-bit keys
			h[r.IntN(16)] = 1 << r.IntN(8)
		}
		blocks := make([]byte, 16*r.IntN(40))
		_, _ = rand.Read(blocks)
		k := New(&h)
		var want [16]byte
		for i, im := range impls() {
			y := y0
			im.update(k, &y, blocks)
			if i == 0 {
				want = y
				continue
			}
			require.Equal(t, want, y, "%s, %d blocks", im.name, len(blocks)/16)
		}
	}
}

// sumRef is GHASH(A, C) from the definition, with the reference
// multiplication.
func sumRef(h [16]byte, aad, ct []byte) [16]byte {
	var in []byte
	in = append(in, aad...)
	in = append(in, make([]byte, pad(len(aad))-len(aad))...)
	in = append(in, ct...)
	in = append(in, make([]byte, pad(len(ct))-len(ct))...)
	in = binary.BigEndian.AppendUint64(in, uint64(len(aad))*8)
	in = binary.BigEndian.AppendUint64(in, uint64(len(ct))*8)
	var y [16]byte
	updateRef(h, &y, in)
	return y
}

// TestSumAfter checks that hashing a prefix once and the rest per value
// gives GHASH of the whole, for every split of additional data of 0 to
// 70 bytes and ciphertexts short and long (past the one-call buffer).
func TestSumAfter(t *testing.T) {
	var h [16]byte
	_, _ = rand.Read(h[:])
	k := New(&h)
	aad := make([]byte, 70)
	_, _ = rand.Read(aad)
	for _, ctLen := range []int{0, 1, 16, 17, 200, 300} {
		ct := make([]byte, ctLen)
		_, _ = rand.Read(ct)
		for n := 0; n <= len(aad); n += 3 {
			want := sumRef(h, aad[:n], ct)
			got := k.Sum(aad[:n], ct)
			require.Equal(t, want, got, "Sum, aad %d, ct %d", n, ctLen)
			for split := 0; split <= n; split++ {
				var p Prefix
				k.Reset(&p, aad[:split])
				got := k.SumAfter(&p, aad[split:n], ct)
				require.Equal(t, want, got, "aad %d split at %d, ct %d", n, split, ctLen)
			}
		}
	}
	var p Prefix
	k.Reset(&p, aad)
	p.Clear()
	assert.Equal(t, Prefix{}, p)
}

func FuzzSumAfter(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 40), make([]byte, 16), uint8(20))
	f.Fuzz(func(t *testing.T, hb, aad, ct []byte, split uint8) {
		var h [16]byte
		copy(h[:], hb)
		k := New(&h)
		s := min(int(split), len(aad))
		var p Prefix
		k.Reset(&p, aad[:s])
		if k.SumAfter(&p, aad[s:], ct) != sumRef(h, aad, ct) {
			t.Fatal("SumAfter differs from GHASH of the whole")
		}
	})
}

func FuzzUpdate(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 16), make([]byte, 32))
	f.Fuzz(func(t *testing.T, hb, yb, data []byte) {
		var h, y0 [16]byte
		copy(h[:], hb)
		copy(y0[:], yb)
		data = data[:len(data)&^15]
		k := New(&h)
		want := y0
		updateRef(h, &want, data)
		for _, im := range impls() {
			y := y0
			im.update(k, &y, data)
			if y != want {
				t.Fatalf("%s differs from the reference", im.name)
			}
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	var h [16]byte
	_, _ = rand.Read(h[:])
	k := New(&h)
	data := make([]byte, 112) // 7 blocks: a 16-byte value's additional data, ciphertext and lengths
	for _, im := range impls()[:1] {
		b.Run("7blocks/"+im.name, func(b *testing.B) {
			var y [16]byte
			for b.Loop() {
				im.update(k, &y, data)
			}
		})
	}
	if Accelerated {
		b.Run("7blocks/accelerated", func(b *testing.B) {
			var y [16]byte
			for b.Loop() {
				update(k, &y, data)
			}
		})
	}
}

func BenchmarkSumAfter(b *testing.B) {
	var h [16]byte
	_, _ = rand.Read(h[:])
	k := New(&h)
	var p Prefix
	k.Reset(&p, make([]byte, 79))
	rest, ct := make([]byte, 8), make([]byte, 16)
	b.Run("4blocks", func(b *testing.B) {
		for b.Loop() {
			_ = k.SumAfter(&p, rest, ct)
		}
	})
	data := make([]byte, 64)
	b.Run("update4", func(b *testing.B) {
		var y [16]byte
		for b.Loop() {
			k.Update(&y, data)
		}
	})
	data1 := make([]byte, 16)
	b.Run("update1", func(b *testing.B) {
		var y [16]byte
		for b.Loop() {
			k.Update(&y, data1)
		}
	})
}
