package keyring_test

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/verifier"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/keyring-vector*.json")

// keyringVector is testdata/keyring-vector.json or keyring-vector-sm2.json
// (docs/format.md §8): a key directory's KEK, a DEK record file as the Dir
// store writes it, and a value sealed with that DEK at a place.
type keyringVector struct {
	MasterKeyHex  string          `json:"master_key_hex,omitempty"`
	PrivateKeyPEM string          `json:"private_key_pem,omitempty"`
	PublicKeyPEM  string          `json:"public_key_pem,omitempty"`
	Record        json.RawMessage `json:"record"`
	ADHex         string          `json:"ad_hex"`
	DEKHex        string          `json:"dek_hex"`
	Keyspace      string          `json:"keyspace"`
	Schema        string          `json:"schema"`
	Table         string          `json:"table"`
	Column        string          `json:"column"`
	RowKey        string          `json:"row_key"`
	Plaintext     string          `json:"plaintext"`
	Text          string          `json:"text"`
}

func (v keyringVector) loc() crypto.Location {
	return crypto.Location{Keyspace: v.Keyspace, Schema: v.Schema, Table: v.Table, Column: v.Column, RowKey: v.RowKey}
}

// kekFiles returns the KEK files of a vector's key directory and its
// keyring.json.
func (v keyringVector) kekFiles() (map[string]string, string) {
	if v.MasterKeyHex != "" {
		return map[string]string{"master.key": v.MasterKeyHex + "\n"}, `{"format":"gmfield-keyring/1","kek":{"kind":"sm4","file":"master.key"}}`
	}
	return map[string]string{"kek.pem": v.PrivateKeyPEM, "kek.pub.pem": v.PublicKeyPEM}, `{"format":"gmfield-keyring/1","kek":{"kind":"sm2","file":"kek.pem"}}`
}

func TestKeyringVector(t *testing.T) {
	for _, c := range []struct{ name, path string }{
		{"sm4", "testdata/keyring-vector.json"},
		{"sm2", "testdata/keyring-vector-sm2.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if *update {
				writeKeyringVector(t, c.name, c.path)
			}
			b, err := os.ReadFile(c.path)
			require.NoError(t, err)
			var v keyringVector
			require.NoError(t, json.Unmarshal(b, &v))

			// Lay the record out as a key directory and open the value through it.
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o700))
			var rec keyring.Record
			require.NoError(t, json.Unmarshal(v.Record, &rec))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", rec.ID+".json"), v.Record, 0o600))
			files, cfg := v.kekFiles()
			for name, content := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, local.ConfigFile), []byte(cfg), 0o600))
			k, err := local.Open(dir)
			require.NoError(t, err)
			pt, err := crypto.OpenText(nil, k, v.loc(), []byte(v.Text))
			require.NoError(t, err)
			assert.Equal(t, v.Plaintext, string(pt))
			assert.Equal(t, v.ADHex, hex.EncodeToString(keyring.AssociatedData(rec.ID, rec.Keyspace)))
			assert.Equal(t, v.Keyspace, rec.Keyspace)
			if c.name == "sm2" {
				pub, err := crypto.ParseSM2PublicKeyPEM([]byte(v.PublicKeyPEM))
				require.NoError(t, err)
				assert.True(t, pub.Verify(keyring.RecordMessage(rec.ID, rec.Keyspace, rec.Wrapped), rec.Sig), "the record is signed (format.md §8.5)")
				key, err := k.Current(ctx, v.Keyspace)
				require.NoError(t, err)
				assert.Equal(t, rec.ID, key.ID(), "a signed active DEK is sealed under")
			} else {
				assert.Empty(t, rec.Sig)
			}
			// The DEK opens nothing of another keyspace.
			_, err = crypto.OpenText(nil, k, crypto.Location{Keyspace: "citizen.phone", Table: "citizen", Column: "phone", RowKey: v.RowKey}, []byte(v.Text))
			assert.ErrorIs(t, err, crypto.ErrKeyMismatch)

			// And independently, from docs/format.md alone.
			out := verifier.Run(t, "../crypto/testdata/verify_vectors.py", c.name == "sm2", "--keyring", c.path)
			assert.Contains(t, out, "keyring vector verified")
		})
	}
}

func writeKeyringVector(t *testing.T, kind, path string) {
	v := keyringVector{Keyspace: "citizen.id_no", Table: "citizen", Column: "id_no", RowKey: "1001", Plaintext: "11010519491231002X"}
	var p keyring.Provider
	switch kind {
	case "sm4":
		v.MasterKeyHex = "00112233445566778899aabbccddeeff"
		sm4, err := local.ParseSM4Hex(v.MasterKeyHex)
		require.NoError(t, err)
		p = sm4
	case "sm2":
		priv, err := crypto.GenerateSM2Key()
		require.NoError(t, err)
		privPEM, err := priv.MarshalPEM()
		require.NoError(t, err)
		pubPEM, err := priv.Public().MarshalPEM()
		require.NoError(t, err)
		v.PrivateKeyPEM, v.PublicKeyPEM = string(privPEM), string(pubPEM)
		v.Keyspace, v.Schema = "public.citizen.id_no", "public"
		sm2, err := local.NewSM2(priv)
		require.NoError(t, err)
		p = sm2
	}
	r, d := newRing(t, p)
	key, err := r.Current(ctx, v.Keyspace)
	require.NoError(t, err)
	text, err := key.SealText(nil, v.loc(), []byte(v.Plaintext))
	require.NoError(t, err)
	rec, err := os.ReadFile(filepath.Join(d.Path(), "keys", key.ID()+".json"))
	require.NoError(t, err)
	var stored keyring.Record
	require.NoError(t, json.Unmarshal(rec, &stored))
	ad := keyring.AssociatedData(stored.ID, stored.Keyspace)
	dek, err := p.Decrypt(stored.Wrapped, ad)
	require.NoError(t, err)
	v.Record, v.ADHex, v.DEKHex, v.Text = rec, hex.EncodeToString(ad), hex.EncodeToString(dek), string(text)
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
}
