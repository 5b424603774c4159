package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	tlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Proof is an inclusion proof of one event in a signed checkpoint
// (docs/format.md §9.6), as `gmfield audit prove` prints it.
// Its JSON form writes LeafHash and Hashes in hex.
type Proof struct {
	Index      uint64
	Size       uint64
	Leaf       string
	LeafHash   []byte
	Hashes     [][]byte
	Checkpoint string
}

type proofJSON struct {
	Index      uint64   `json:"index"`
	Size       uint64   `json:"size"`
	Leaf       string   `json:"leaf"`
	LeafHash   string   `json:"leaf_hash"`
	Hashes     []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// MarshalJSON writes p as docs/format.md §9.6 says, hashes in hex.
func (p *Proof) MarshalJSON() ([]byte, error) {
	j := proofJSON{Index: p.Index, Size: p.Size, Leaf: p.Leaf, LeafHash: hex.EncodeToString(p.LeafHash), Hashes: make([]string, len(p.Hashes)), Checkpoint: p.Checkpoint}
	for i, h := range p.Hashes {
		j.Hashes[i] = hex.EncodeToString(h)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (p *Proof) UnmarshalJSON(b []byte) error {
	var j proofJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	lh, err := hex.DecodeString(j.LeafHash)
	if err != nil {
		return fmt.Errorf("%w: leaf_hash: %v", ErrInvalid, err)
	}
	hashes := make([][]byte, len(j.Hashes))
	for i, h := range j.Hashes {
		if hashes[i], err = hex.DecodeString(h); err != nil {
			return fmt.Errorf("%w: proof: %v", ErrInvalid, err)
		}
	}
	*p = Proof{Index: j.Index, Size: j.Size, Leaf: j.Leaf, LeafHash: lh, Hashes: hashes, Checkpoint: j.Checkpoint}
	return nil
}

// Prove returns the inclusion proof of leaf index in src against the
// stored checkpoint of size size (0: the latest), checked before it is
// returned.
func Prove(ctx context.Context, src Source, v note.Verifier, index, size uint64) (*Proof, error) {
	notes, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	var cp *tlog.Checkpoint
	var raw []byte
	for _, n := range notes {
		c, err := parseCheckpoint(n, v)
		if err != nil {
			continue
		}
		if (size == 0 && (cp == nil || c.Size > cp.Size)) || (size != 0 && c.Size == size) {
			cp, raw = c, n
		}
	}
	if cp == nil {
		return nil, fmt.Errorf("%w: no checkpoint of size %d signed by %s", ErrInvalid, size, v.Name())
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("%w: index %d is not below the checkpoint's size %d", ErrInvalid, index, cp.Size)
	}
	nodes, err := proof.Inclusion(index, cp.Size)
	if err != nil {
		return nil, err
	}
	want := map[compact.NodeID][]byte{}
	for _, id := range nodes.IDs {
		want[id] = nil
	}
	rng := (&compact.RangeFactory{Hash: Hasher.HashChildren}).NewEmptyRange(0)
	p := &Proof{Index: index, Size: cp.Size, Checkpoint: string(raw)}
	err = src.Leaves(ctx, func(_ uint64, leaf []byte) error {
		if rng.End() == index {
			p.Leaf = string(leaf)
		}
		if err := rng.Append(Hasher.HashLeaf(leaf), func(id compact.NodeID, h []byte) {
			if _, ok := want[id]; ok {
				want[id] = h
			}
		}); err != nil {
			return err
		}
		if rng.End() == cp.Size {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if rng.End() < cp.Size {
		return nil, fmt.Errorf("%w: the log has %d leaves; the checkpoint signs %d", ErrTampered, rng.End(), cp.Size)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		hashes[i] = want[id]
	}
	if p.Hashes, err = nodes.Rehash(hashes, Hasher.HashChildren); err != nil {
		return nil, err
	}
	p.LeafHash = Hasher.HashLeaf([]byte(p.Leaf))
	if err := p.Verify(v); err != nil {
		return nil, err
	}
	return p, nil
}

// Verify checks p with the public key alone: the checkpoint's signature,
// the leaf's hash, and the proof from the leaf to the signed root.
func (p *Proof) Verify(v note.Verifier) error {
	cp, err := parseCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return fmt.Errorf("%w: the checkpoint does not verify: %v", ErrTampered, err)
	}
	if cp.Size != p.Size {
		return fmt.Errorf("%w: the proof is for size %d, the checkpoint signs %d", ErrTampered, p.Size, cp.Size)
	}
	if string(Hasher.HashLeaf([]byte(p.Leaf))) != string(p.LeafHash) {
		return fmt.Errorf("%w: the leaf does not have the leaf hash", ErrTampered)
	}
	if err := proof.VerifyInclusion(Hasher, p.Index, p.Size, p.LeafHash, p.Hashes, cp.Hash); err != nil {
		return fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return nil
}

// Filter selects events for Query; its zero value selects all.
type Filter struct {
	Principal string    // the caller's id
	Column    string    // table.column touched
	Table     string    // protected table touched
	Since     time.Time // at or after
	Until     time.Time // before (zero: no bound)
}

func (f Filter) match(e *Event) bool {
	if f.Principal != "" && e.Principal != f.Principal {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.Time.Before(f.Until) {
		return false
	}
	if f.Table != "" && !contains(e.Tables, f.Table) {
		return false
	}
	if f.Column != "" {
		found := false
		for _, c := range e.Columns {
			found = found || c.Column == f.Column
		}
		if !found {
			return false
		}
	}
	return true
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Query calls fn with every event of src that f selects, in order. It
// reads the leaves as stored: run Verify first to know they are the
// ones the checkpoints sign.
func Query(ctx context.Context, src Source, f Filter, fn func(*Event) error) error {
	return src.Leaves(ctx, func(_ uint64, leaf []byte) error {
		e, err := ParseEvent(leaf)
		if err != nil {
			return err
		}
		if !f.match(e) {
			return nil
		}
		return fn(e)
	})
}
