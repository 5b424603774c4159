package keyring_test

import (
	"strings"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The key id is named once, by the key ring, however many layers the
// error passes (crypto.Open names the place, not the id again).
func TestErrorsNameTheKeyOnce(t *testing.T) {
	r, _ := newRing(t, sm4Provider(t, 1))
	ct := seal(t, r, "citizen.phone", "13800138000")
	e, err := crypto.ParseText(ct)
	require.NoError(t, err)

	require.NoError(t, r.Destroy(ctx, e.KeyID))
	_, err = crypto.OpenText(nil, r, loc, ct)
	assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
	assert.Equal(t, "citizen.phone: key "+e.KeyID+": gmfield/keyring: key destroyed", err.Error())

	// A KeySource that does not name the id gets it added.
	_, err = crypto.OpenText(nil, anonymous{}, loc, ct)
	assert.ErrorIs(t, err, crypto.ErrKeyNotFound)
	assert.Equal(t, 1, strings.Count(err.Error(), e.KeyID), err.Error())
}

type anonymous struct{}

func (anonymous) Key(string) (*crypto.Key, error) { return nil, crypto.ErrKeyNotFound }
