package b64

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// check decodes src with Decode and with encoding/base64's strict
// decoder and fails unless both give the same bytes and the same error.
func check(t testing.TB, src []byte) {
	t.Helper()
	want := make([]byte, std.DecodedLen(len(src)))
	wn, werr := std.Decode(want, src)
	got := make([]byte, DecodedLen(len(src)))
	gn, gerr := Decode(got, src)
	if wn != gn || string(want[:wn]) != string(got[:gn]) || (werr == nil) != (gerr == nil) ||
		(werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%q: got %d %v, want %d %v", src, gn, gerr, wn, werr)
	}
}

func TestVectorPathRuns(t *testing.T) {
	t.Logf("AVX2: %v", useAVX2)
	src := make([]byte, 100)
	_, _ = rand.Read(src)
	enc := []byte(base64.StdEncoding.EncodeToString(src))
	if useAVX2 {
		require.Equal(t, 128, vectorPrefix(make([]byte, 100), enc), "136 characters: four blocks, one quantum besides the last left")
		long := []byte(base64.StdEncoding.EncodeToString(append(src, 1, 2, 3, 4, 5, 6, 7, 8)))
		require.Equal(t, 140, vectorPrefix(make([]byte, 108), long), "144 characters: four blocks and one overlapping them, the last quantum left")
		require.Equal(t, 128, vectorPrefix(make([]byte, 104), long), "no room for the overlapping block's last bytes")
		check(t, long)
		require.Equal(t, 96, vectorPrefix(make([]byte, 95), enc), "room for three blocks of output only")
	}
	check(t, enc)
}

// TestEveryByteAtEveryPlace replaces each character of valid encodings
// of several lengths, in turn, with every byte value, and compares with
// encoding/base64: the vector blocks must reject exactly what it rejects
// and decode exactly what it decodes.
func TestEveryByteAtEveryPlace(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 24, 25, 26, 27, 48, 52, 53, 54, 59, 64, 72, 96, 100} {
		raw := make([]byte, n)
		_, _ = rand.Read(raw)
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		check(t, enc)
		for i := range enc {
			orig := enc[i]
			for c := range 256 {
				enc[i] = byte(c)
				check(t, enc)
			}
			enc[i] = orig
		}
	}
}

func TestRandomAgainstStdlib(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9, 10))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for range 20000 {
		raw := make([]byte, r.IntN(400))
		_, _ = rand.Read(raw)
		enc := []byte(base64.StdEncoding.EncodeToString(raw))
		switch r.IntN(4) {
		case 0: // a wrong character somewhere
			if len(enc) > 0 {
				enc[r.IntN(len(enc))] = byte(r.IntN(256))
			}
		case 1: // random characters of the alphabet, padding anywhere
			for i := range enc {
				enc[i] = alphabet[r.IntN(64)]
				if r.IntN(50) == 0 {
					enc[i] = '='
				}
			}
		}
		check(t, enc)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("Z21mMgIBEGsw"))
	f.Add([]byte("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy"))
	f.Fuzz(func(t *testing.T, src []byte) {
		check(t, src)
	})
}

func BenchmarkDecode(b *testing.B) {
	// Envelopes of a 16-byte value under key ids of 1 and 17 bytes.
	for _, n := range []int{52, 64} {
		raw := make([]byte, n)
		_, _ = rand.Read(raw)
		src := []byte(base64.StdEncoding.EncodeToString(raw))
		dst := make([]byte, 64)
		b.Run(fmt.Sprintf("bytes=%d/impl=stdlib", n), func(b *testing.B) {
			for b.Loop() {
				_, _ = std.Decode(dst, src)
			}
		})
		b.Run(fmt.Sprintf("bytes=%d/impl=b64", n), func(b *testing.B) {
			for b.Loop() {
				_, _ = Decode(dst, src)
			}
		})
	}
}
