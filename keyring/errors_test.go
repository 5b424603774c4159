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
	r, d := newRing(t, sm4Provider(t, 1))
	ct := seal(t, r, "citizen.phone", "13800138000")
	e, err := crypto.ParseText(ct)
	require.NoError(t, err)

	_, err = crypto.OpenText(nil, keyring.New(d, sm4Provider(t, 2)), loc, ct)
	require.Error(t, err)
	assert.Equal(t, 1, strings.Count(err.Error(), e.KeyID), err.Error())

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

// A DEK that does not unwrap under the KEK is ErrUnwrapFailed, naming the
// KEK tried (its description and fingerprint) and the record's.
func TestWrongKEKIsErrUnwrapFailed(t *testing.T) {
	r, d := newRing(t, sm4Provider(t, 1))
	ct := seal(t, r, "citizen.phone", "13800138000")
	_, err := r.IndexRoot(ctx)
	require.NoError(t, err)
	recs, err := r.List(ctx)
	require.NoError(t, err)
	made := recs[0].KEK
	wrong := sm4Provider(t, 2)
	other := keyring.New(d, wrong, keyring.WithKEKDescription("SM4 master key file /etc/gmfield/master.key"))

	_, err = crypto.OpenText(nil, other, loc, ct)
	assert.ErrorIs(t, err, keyring.ErrUnwrapFailed)
	assert.ErrorIs(t, err, crypto.ErrAuthentication)
	msg := err.Error()
	assert.Contains(t, msg, "SM4 master key file /etc/gmfield/master.key")
	assert.Contains(t, msg, wrong.KEKName(nil))
	assert.Contains(t, msg, "its record names "+made)
	assert.Contains(t, msg, "probably not the one the key ring was made with")

	_, err = other.IndexRoot(ctx)
	assert.ErrorIs(t, err, keyring.ErrUnwrapFailed)
	_, err = other.Rewrap(ctx, nil)
	assert.ErrorIs(t, err, keyring.ErrUnwrapFailed)

	// The right KEK, and an unavailable provider, are not.
	_, err = crypto.OpenText(nil, keyring.New(d, sm4Provider(t, 1)), loc, ct)
	assert.NoError(t, err)
	down := &flaky{Provider: sm4Provider(t, 1)}
	down.down.Store(true)
	_, err = crypto.OpenText(nil, keyring.New(d, down), loc, ct)
	assert.ErrorIs(t, err, keyring.ErrProviderUnavailable)
	assert.NotErrorIs(t, err, keyring.ErrUnwrapFailed)
}
