package masking

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHash(t *testing.T) {
	r := rule(t, "hash", nil)
	a := r.Mask("13800138000")
	assert.Regexp(t, `^[0-9a-f]{32}$`, a)
	assert.Equal(t, a, r.Mask("13800138000"), "deterministic")
	assert.NotEqual(t, a, r.Mask("13800138001"))

	b32 := rule(t, "hash", Params{"length": "10", "encoding": "base32"}).Mask("13800138000")
	assert.Regexp(t, `^[A-Z2-7]{16}$`, b32)

	other, err := NewRule("hash", nil, WithKey([]byte("another key, 16+ bytes")))
	require.NoError(t, err)
	assert.NotEqual(t, a, other.Mask("13800138000"), "keyed")
	// Distinct from an unkeyed digest and from the pseudonym subkeys.
	p := rule(t, "pseudonym", Params{"type": "mobile"})
	assert.NotEqual(t, a, p.Mask("13800138000"))
}

// validUSCC completes a 17-character prefix with its check characters.
func validUSCC(prefix8, org8 string) string {
	b := []byte(prefix8 + org8)
	b = append(b, orgCodeCheck(b[8:16]))
	return string(append(b, usccCheck(b)))
}

func TestPseudonymPreservesFormatAndChecksums(t *testing.T) {
	id := rule(t, "pseudonym", Params{"type": "id_card"})
	mob := rule(t, "pseudonym", Params{"type": "mobile"})
	card := rule(t, "pseudonym", Params{"type": "bank_card"})
	uscc := rule(t, "pseudonym", Params{"type": "uscc"})

	seen := map[string]bool{}
	for i := range 300 {
		in := fmt.Sprintf("110105%04d%02d%02d%03d", 1950+i%60, 1+i%12, 1+i%28, i)
		in += string(idCheck([]byte(in)))
		out := id.Mask(in)
		require.Len(t, out, 18)
		assert.Equal(t, in[:6], out[:6], "region kept")
		assert.Equal(t, (in[16]-'0')%2, (out[16]-'0')%2, "sex digit parity kept")
		assert.Equal(t, 0.99, Validate(KindIDCard, out), "valid check digit and birth date: %s", out)
		assert.Equal(t, out, id.Mask(in), "deterministic")
		assert.NotEqual(t, in, out)
		seen[out] = true
	}
	assert.Greater(t, len(seen), 295, "pseudonyms rarely collide")
	// Full-width and lower-case x inputs map like their ASCII forms.
	assert.Equal(t, id.Mask("11010519491231002X"), id.Mask("11010519491231002x"))
	assert.Equal(t, id.Mask("11010519491231002X"), id.Mask("１１０１０５１９４９１２３１００２Ｘ"))
	legacy := id.Mask("110105491231002")
	assert.Len(t, legacy, 15)
	assert.Equal(t, 0.7, Validate(KindIDCard, legacy))

	for _, in := range []string{"13800138000", "+86 139-1234-5678", "18600001111"} {
		out := mob.Mask(in)
		assert.Len(t, []rune(out), len([]rune(in)))
		assert.Equal(t, 0.95, Validate(KindMobile, out), out)
		assert.NotEqual(t, in, out)
		assert.Equal(t, out, mob.Mask(in))
	}
	assert.Regexp(t, regexp.MustCompile(`^\+86 139-\d{4}-\d{4}$`), mob.Mask("+86 139-1234-5678"))
	assert.Equal(t, "138", mob.Mask("13800138000")[:3])

	for _, in := range []string{"6222021234567890128", "4111111111111111", "6222 0212 3456 7890"} {
		out := card.Mask(in)
		assert.Len(t, out, len(in))
		assert.Equal(t, in[:6], out[:6], "BIN kept")
		assert.Greater(t, Validate(KindBankCard, out), 0.0, "Luhn valid: %s", out)
		assert.NotEqual(t, in, out)
	}

	in := validUSCC("91350100", "M0001000")
	require.Greater(t, Validate(KindUSCC, in), 0.0)
	out := uscc.Mask(in)
	assert.Len(t, out, 18)
	assert.Equal(t, in[:8], out[:8])
	assert.Equal(t, 0.99, Validate(KindUSCC, out), out)

	// Malformed input is masked entirely, never passed through.
	assert.Equal(t, "*****", id.Mask("12345"))
	assert.Equal(t, "***", mob.Mask("123"))
	assert.Equal(t, "**********", card.Mask("1234567890"))
	assert.Equal(t, "******************", uscc.Mask("91350100M000100YIO"))

	// Another key gives other pseudonyms.
	id2, err := NewRule("pseudonym", Params{"type": "id_card"}, WithKey([]byte("yet another key of 16+ bytes")))
	require.NoError(t, err)
	assert.NotEqual(t, id.Mask("11010519491231002X"), id2.Mask("11010519491231002X"))
}
