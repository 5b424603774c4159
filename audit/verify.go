package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Problem is what verification found wrong with a log.
type Problem string

// Problems, in the words of docs/format.md §9.5.
const (
	Edited       Problem = "edit"
	Deleted      Problem = "deletion"
	Inserted     Problem = "insertion"
	Reordered    Problem = "reordering"
	Truncated    Problem = "truncation"
	BadLeaf      Problem = "unreadable leaf"
	BadSigned    Problem = "bad checkpoint"
	Unsigned     Problem = "no checkpoint"
	Inconsistent Problem = "inconsistent checkpoints"
)

// Report is the result of Verify.
type Report struct {
	// Leaves is the number of leaves read; Checkpoints the number of
	// checkpoints checked (stored and given), Latest the largest size
	// one of them signs. Leaves beyond Latest are not signed yet.
	Leaves      uint64 `json:"leaves"`
	Checkpoints uint64 `json:"checkpoints"`
	Latest      uint64 `json:"latest"`
	// Problem is empty for a log that verifies. Otherwise Index is the
	// first index at which it was found: for an edit, the size of the
	// last checkpoint that still matched (the edit is among the leaves
	// Index … Until-1, which is all a signed root can tell). A log with
	// leaves and no checkpoint at all does not verify (Unsigned).
	Problem Problem `json:"problem,omitempty"`
	Index   uint64  `json:"index"`
	Until   uint64  `json:"until,omitempty"`
	Detail  string  `json:"detail,omitempty"`
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return r.Problem == "" }

func (r *Report) fail(p Problem, index uint64, detail string, args ...any) {
	if r.Problem == "" {
		r.Problem, r.Index, r.Detail = p, index, fmt.Sprintf(detail, args...)
	}
}

// Unsigned is the number of leaves after the latest checkpoint of a log
// that verifies: written, not yet signed.
func (r *Report) Unsigned() uint64 {
	if !r.OK() || r.Leaves <= r.Latest {
		return 0
	}
	return r.Leaves - r.Latest
}

// String is the report as `gmfield audit verify` prints it: leaves,
// checkpoints, then "ok" or the problem with its first index.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "leaves:      %d\n", r.Leaves)
	fmt.Fprintf(&b, "checkpoints: %d checked, latest size %d\n", r.Checkpoints, r.Latest)
	switch {
	case r.OK():
		if n := r.Unsigned(); n > 0 {
			fmt.Fprintf(&b, "unsigned:    leaves %d…%d are after the latest checkpoint\n", r.Latest, r.Leaves-1)
		}
		b.WriteString("ok\n")
	case r.Problem == Edited && r.Until > r.Index:
		fmt.Fprintf(&b, "FAILED: %s at index %d, among leaves %d…%d: %s\n", r.Problem, r.Index, r.Index, r.Until-1, r.Detail)
	default:
		fmt.Fprintf(&b, "FAILED: %s at index %d: %s\n", r.Problem, r.Index, r.Detail)
	}
	return b.String()
}

// Err returns nil for a log that verifies, else an error wrapping
// ErrTampered that describes the problem.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	return fmt.Errorf("%w: %s at index %d: %s", ErrTampered, r.Problem, r.Index, r.Detail)
}

type checkpoint struct {
	size uint64
	root []byte
	kept bool // given by the auditor, not read from the store
}

// Verify recomputes the tree of src's leaves and checks it against
// every stored checkpoint and every checkpoint in kept (checkpoints the
// auditor saved earlier, as published): signatures by v, roots at their
// sizes, that each later checkpoint is consistent with every earlier one
// (consistency proofs), that leaf k says it is leaf k, and that the log
// is not shorter than a checkpoint (docs/format.md §9.5). It reads the
// leaves once, in constant memory. An error is returned only when src
// cannot be read; what is wrong with the log is in the Report.
func Verify(ctx context.Context, src Source, v note.Verifier, kept ...[]byte) (*Report, error) {
	r := &Report{}
	stored, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	// Problems of the checkpoints themselves are reported after the
	// leaves', which say more (where).
	later := &Report{}
	var cps []checkpoint
	for i, raw := range append(stored, kept...) {
		c, err := parseCheckpoint(raw, v)
		if err != nil {
			what := "stored"
			if i >= len(stored) {
				what = "kept"
			}
			later.fail(BadSigned, 0, "a %s checkpoint does not verify: %v", what, err)
			continue
		}
		cps = append(cps, checkpoint{size: c.Size, root: c.Hash, kept: i >= len(stored)})
	}
	sort.SliceStable(cps, func(i, j int) bool { return cps[i].size < cps[j].size })
	// One root per size: two signed roots of one size are a fork.
	var uniq []checkpoint
	for _, c := range cps {
		if n := len(uniq); n > 0 && uniq[n-1].size == c.size {
			if string(uniq[n-1].root) != string(c.root) {
				later.fail(Inconsistent, c.size, "two signed roots for size %d", c.size)
			}
			uniq[n-1].kept = uniq[n-1].kept || c.kept
			continue
		}
		uniq = append(uniq, c)
	}
	r.Checkpoints = uint64(len(cps))
	if n := len(uniq); n > 0 {
		r.Latest = uniq[n-1].size
	}
	// The nodes of the consistency proofs between consecutive checkpoints,
	// collected as the tree is built.
	want := map[compact.NodeID][]byte{}
	var proofs []proof.Nodes
	for i := 1; i < len(uniq); i++ {
		nodes, err := proof.Consistency(uniq[i-1].size, uniq[i].size)
		if err != nil {
			return nil, err
		}
		proofs = append(proofs, nodes)
		for _, id := range nodes.IDs {
			want[id] = nil
		}
	}
	visit := func(id compact.NodeID, h []byte) {
		if _, ok := want[id]; ok {
			want[id] = h
		}
	}
	rf := &compact.RangeFactory{Hash: Hasher.HashChildren}
	rng := rf.NewEmptyRange(0)
	// next checkpoint to reach; sizes of the last that matched, and of the
	// last kept one that matched
	next, matched, matchedKept := 0, uint64(0), uint64(0)
	for next < len(uniq) && uniq[next].size == 0 {
		if string(uniq[next].root) != string(Hasher.EmptyRoot()) {
			r.fail(Edited, 0, "the checkpoint of size 0 has another root")
		}
		next++
	}
	var mis []int64 // stated index minus position, from the first mismatch on
	err = src.Leaves(ctx, func(idx uint64, leaf []byte) error {
		k := r.Leaves
		r.Leaves++
		if len(mis) > 0 {
			if i, ok := leafIndex(leaf); ok {
				mis = append(mis, int64(i)-int64(k))
			}
			if len(mis) >= 4 {
				return errStop
			}
			return nil
		}
		i, ok := leafIndex(leaf)
		switch {
		case !ok:
			r.fail(BadLeaf, k, "leaf %d is not an event of format 1", k)
			return errStop
		case i != k || idx != k:
			mis = append(mis, int64(i)-int64(k))
			if idx != k && i == k {
				mis[0] = int64(idx) - int64(k)
			}
			return nil
		}
		if err := rng.Append(Hasher.HashLeaf(leaf), visit); err != nil {
			return err
		}
		for next < len(uniq) && uniq[next].size == rng.End() {
			root, err := rng.GetRootHash(nil)
			if err != nil {
				return err
			}
			if string(root) != string(uniq[next].root) {
				// A kept checkpoint vouches only for what kept ones before
				// it vouched for: stored checkpoints signed by the same key
				// may be another log's.
				from := matched
				if uniq[next].kept {
					from = matchedKept
				}
				r.fail(Edited, from, "the leaves do not give the root signed for size %d", uniq[next].size)
				r.Until = uniq[next].size
				return errStop
			}
			matched = uniq[next].size
			if uniq[next].kept {
				matchedKept = matched
			}
			next++
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if len(mis) > 0 {
		at := r.Leaves - uint64(len(mis))
		switch p := classify(mis); p {
		case Deleted:
			r.fail(p, at, "leaf %d is missing: the leaf at its place says it is leaf %d", at, int64(at)+mis[0])
		case Inserted:
			r.fail(p, at, "a leaf was inserted at %d: it says it is leaf %d", at, int64(at)+mis[0])
		default:
			r.fail(p, at, "leaf %d says it is leaf %d", at, int64(at)+mis[0])
		}
	}
	if r.OK() && r.Leaves < r.Latest {
		r.fail(Truncated, r.Leaves, "the log has %d leaves; a checkpoint signs %d", r.Leaves, r.Latest)
	}
	if r.OK() && !later.OK() {
		r.fail(later.Problem, later.Index, "%s", later.Detail)
	}
	if r.OK() && len(cps) == 0 && r.Leaves > 0 {
		r.fail(Unsigned, 0, "no checkpoint signs the log's %d leaves", r.Leaves)
	}
	if !r.OK() {
		return r, nil
	}
	for i, nodes := range proofs {
		a, b := uniq[i], uniq[i+1]
		hashes := make([][]byte, len(nodes.IDs))
		for j, id := range nodes.IDs {
			hashes[j] = want[id]
		}
		pf, err := nodes.Rehash(hashes, Hasher.HashChildren)
		if err == nil {
			err = proof.VerifyConsistency(Hasher, a.size, b.size, pf, a.root, b.root)
		}
		if err != nil {
			r.fail(Inconsistent, a.size, "the checkpoint of size %d is not consistent with the one of size %d: %v", b.size, a.size, err)
			break
		}
	}
	return r, nil
}

var errStop = errors.New("stop")

// leafIndex reads a leaf's "v" and "i".
func leafIndex(leaf []byte) (uint64, bool) {
	var h struct {
		V *int    `json:"v"`
		I *uint64 `json:"i"`
	}
	if json.Unmarshal(leaf, &h) != nil || h.V == nil || *h.V != 1 || h.I == nil {
		return 0, false
	}
	return *h.I, true
}

// classify names a run of (stated index − position) from the first
// leaf out of place: all the same positive offset is a deletion, all
// the same negative (or a repeat of an earlier index followed by leaves
// one behind) an insertion, anything else a reordering.
func classify(mis []int64) Problem {
	same := true
	for _, d := range mis[1:] {
		if d != mis[0] {
			same = false
		}
	}
	switch {
	case mis[0] > 0 && same:
		return Deleted
	case mis[0] < 0 && (same || allEqual(mis[1:], -1)):
		return Inserted
	}
	return Reordered
}

func allEqual(xs []int64, v int64) bool {
	for _, x := range xs {
		if x != v {
			return false
		}
	}
	return len(xs) > 0
}
