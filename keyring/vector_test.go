package keyring_test

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/keyring-vector.json")

// keyringVector is testdata/keyring-vector.json (docs/format.md §8): a
// local SM4 master key, a DEK record file as the Dir store writes it, and
// a value sealed with that DEK.
type keyringVector struct {
	MasterKeyHex string          `json:"master_key_hex"`
	Record       json.RawMessage `json:"record"`
	ADHex        string          `json:"ad_hex"`
	DEKHex       string          `json:"dek_hex"`
	Table        string          `json:"table"`
	Column       string          `json:"column"`
	RowKey       string          `json:"row_key"`
	Plaintext    string          `json:"plaintext"`
	Text         string          `json:"text"`
}

func TestKeyringVector(t *testing.T) {
	path := "testdata/keyring-vector.json"
	const master = "00112233445566778899aabbccddeeff"
	if *update {
		p, err := local.ParseSM4Hex(master)
		require.NoError(t, err)
		r, d := newRing(t, p)
		key, err := r.Current(ctx, "citizen.id_no")
		require.NoError(t, err)
		loc := crypto.Location{Table: "citizen", Column: "id_no", RowKey: "1001"}
		text, err := key.SealText(nil, loc, []byte("11010519491231002X"))
		require.NoError(t, err)
		rec, err := os.ReadFile(filepath.Join(d.Path(), "keys", key.ID()+".json"))
		require.NoError(t, err)
		var stored keyring.Record
		require.NoError(t, json.Unmarshal(rec, &stored))
		dek, err := p.Decrypt(stored.Wrapped, keyring.AssociatedData(stored.ID, stored.Keyspace))
		require.NoError(t, err)
		v := keyringVector{MasterKeyHex: master, Record: rec, ADHex: hex.EncodeToString(keyring.AssociatedData(stored.ID, stored.Keyspace)),
			DEKHex: hex.EncodeToString(dek), Table: loc.Table, Column: loc.Column, RowKey: loc.RowKey, Plaintext: "11010519491231002X", Text: string(text)}
		b, err := json.MarshalIndent(v, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var v keyringVector
	require.NoError(t, json.Unmarshal(b, &v))

	// Lay the record out as a key directory and open the value through it.
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o700))
	var rec keyring.Record
	require.NoError(t, json.Unmarshal(v.Record, &rec))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", rec.ID+".json"), v.Record, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "master.key"), []byte(v.MasterKeyHex+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, local.ConfigFile), []byte(`{"format":"gmfield-keyring/1","kek":{"kind":"sm4","file":"master.key"}}`), 0o600))
	k, err := local.Open(dir)
	require.NoError(t, err)
	pt, err := crypto.OpenText(nil, k, crypto.Location{Table: v.Table, Column: v.Column, RowKey: v.RowKey}, []byte(v.Text))
	require.NoError(t, err)
	assert.Equal(t, v.Plaintext, string(pt))
	assert.Equal(t, v.ADHex, hex.EncodeToString(keyring.AssociatedData(rec.ID, rec.Keyspace)))

	// And independently, from docs/format.md alone.
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: independent check skipped")
	}
	if err := exec.Command(py, "-c", "import cryptography").Run(); err != nil {
		t.Skip("python3 has no cryptography package: independent check skipped")
	}
	out, err := exec.Command(py, "../crypto/testdata/verify_vectors.py", "--keyring", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "keyring vector verified")
}
