package audit

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm3"
	tlog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/crypto"
)

// sigType is the signed-note signature type of SM2 with SM3
// (docs/format.md §9.3).
var sigType = []byte("\xffgmfield-sm2")

// keyID is the signed-note key id of an SM2 key named name.
func keyID(name string, spki []byte) uint32 {
	h := sm3.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n'})
	h.Write(sigType)
	h.Write(spki)
	return binary.BigEndian.Uint32(h.Sum(nil)[:4])
}

func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, "+ \t\n\r") {
		return fmt.Errorf("%w: origin %q: a non-empty name without spaces or '+'", ErrInvalid, name)
	}
	return nil
}

type signer struct {
	name string
	id   uint32
	key  *crypto.SM2PrivateKey
}

// NewSigner returns a note.Signer that signs checkpoints of the log
// named origin with SM2 (docs/format.md §9.3).
func NewSigner(origin string, key *crypto.SM2PrivateKey) (note.Signer, error) {
	if err := checkName(origin); err != nil {
		return nil, err
	}
	spki, err := key.Public().MarshalPKIX()
	if err != nil {
		return nil, err
	}
	return &signer{name: origin, id: keyID(origin, spki), key: key}, nil
}

func (s *signer) Name() string                    { return s.name }
func (s *signer) KeyHash() uint32                 { return s.id }
func (s *signer) Sign(msg []byte) ([]byte, error) { return s.key.Sign(msg) }

type verifier struct {
	name string
	id   uint32
	key  *crypto.SM2PublicKey
}

// NewVerifier returns a note.Verifier of checkpoints of the log named
// origin signed by the private key of key.
func NewVerifier(origin string, key *crypto.SM2PublicKey) (note.Verifier, error) {
	if err := checkName(origin); err != nil {
		return nil, err
	}
	spki, err := key.MarshalPKIX()
	if err != nil {
		return nil, err
	}
	return &verifier{name: origin, id: keyID(origin, spki), key: key}, nil
}

func (v *verifier) Name() string                { return v.name }
func (v *verifier) KeyHash() uint32             { return v.id }
func (v *verifier) Verify(msg, sig []byte) bool { return v.key.Verify(msg, sig) }

// VerifierKey returns the text form of the verifier key of origin and
// key: "origin+keyid+base64(type ‖ SPKI)" (docs/format.md §9.3).
func VerifierKey(origin string, key *crypto.SM2PublicKey) (string, error) {
	if err := checkName(origin); err != nil {
		return "", err
	}
	spki, err := key.MarshalPKIX()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s+%08x+%s", origin, keyID(origin, spki), base64.StdEncoding.EncodeToString(append(append([]byte{}, sigType...), spki...))), nil
}

// ParseVerifierKey parses the text form of a verifier key.
func ParseVerifierKey(vkey string) (note.Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash, b64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || len(hash) != 8 {
		return nil, fmt.Errorf("%w: verifier key: want origin+keyid+key", ErrInvalid)
	}
	id, err := hex.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key id", ErrInvalid)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !strings.HasPrefix(string(raw), string(sigType)) {
		return nil, fmt.Errorf("%w: verifier key: not a gmfield-sm2 key", ErrInvalid)
	}
	key, err := crypto.ParseSM2PublicKeyPKIX(raw[len(sigType):])
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key: %v", ErrInvalid, err)
	}
	v, err := NewVerifier(name, key)
	if err != nil {
		return nil, err
	}
	if v.KeyHash() != binary.BigEndian.Uint32(id) {
		return nil, fmt.Errorf("%w: verifier key: key id does not match the key", ErrInvalid)
	}
	return v, nil
}

// parseCheckpoint opens a checkpoint signed by v for the log v names
// (docs/format.md §9.3): a body of exactly the three lines.
func parseCheckpoint(raw []byte, v note.Verifier) (*tlog.Checkpoint, error) {
	c, rest, _, err := tlog.ParseCheckpoint(raw, v.Name(), v)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%w: a checkpoint with lines after its root", ErrCorrupt)
	}
	return c, nil
}
