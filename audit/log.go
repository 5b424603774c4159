package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	tlog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/crypto"
)

// Mode is when Record returns.
type Mode int

const (
	// Sync: Record returns when the event is durable in the store, and a
	// store failure fails the statement.
	Sync Mode = iota
	// Async: Record queues the event and returns; a writer appends queued
	// events in batches. A full queue, or a store that is failing, fails
	// the statement (Reserve, then Record): no event is dropped. Close
	// writes what is queued.
	Async
)

// Options configure a Log.
type Options struct {
	// Origin names the log in its checkpoints (default "gmfield/audit").
	Origin string
	// Key signs the checkpoints (required).
	Key *crypto.SM2PrivateKey
	// Mode is Sync (the default) or Async.
	Mode Mode
	// Queue bounds the events waiting to be written (default 4096).
	Queue int
	// Batch bounds the events of one append (default 256).
	Batch int
	// CheckpointEvery is the least time between two checkpoints made
	// after appends (default 10s); a negative value leaves checkpoints to
	// Sync and Close.
	CheckpointEvery time.Duration
	// Logger receives the log's warnings (default: discarded).
	Logger *slog.Logger
}

// DefaultOrigin is the origin of a log whose Options name none.
const DefaultOrigin = "gmfield/audit"

// Log is a tamper-evident audit log (docs/format.md §9): a Sink whose
// events are the leaves of an SM3 Merkle tree, with SM2-signed
// checkpoints. Open one with OpenDir or OpenTable; Close it after the
// database handles that write to it.
type Log struct {
	st     store
	opt    Options
	signer note.Signer
	verify note.Verifier
	rf     *compact.RangeFactory

	mu     sync.RWMutex // guards closed and sends on queue
	closed bool
	queue  chan *request
	kick   chan struct{} // wakes an async writer before its next tick
	done   chan struct{}
	errs   atomic.Pointer[error] // the async writer's failure, nil while healthy
	// reserved counts the queue's room that Reserve promised to statements
	// whose Record has not come yet.
	reserved atomic.Int64
	closeE   error

	// writer state, owned by the writer goroutine
	writer string // this Log's id in its leaves ("w")
	rng    *compact.Range
	buf    []byte   // the leaves of the batch being written
	leaves [][]byte // slices of buf
	// pending, from index pendingAt, are the leaves of an async batch
	// whose append and catch-up both failed (resync).
	pending   [][]byte
	pendingAt uint64
	lastCP    time.Time
	cpSize    uint64
	resync    bool
}

type request struct {
	e    *Event // async: encoded by the writer
	body []byte // sync: encoded by the caller
	sync bool   // checkpoint after writing (Log.Sync)
	done chan error
}

// linger is how long an async writer lets events gather before it
// writes them, unless a batch fills first: callers then never wait for
// the writer to wake.
const linger = 2 * time.Millisecond

var donePool = sync.Pool{New: func() any { return make(chan error, 1) }}

func newLog(ctx context.Context, st store, opt Options) (*Log, error) {
	if opt.Key == nil {
		_ = st.close()
		return nil, fmt.Errorf("%w: a log needs an SM2 key to sign its checkpoints", ErrInvalid)
	}
	if opt.Origin == "" {
		opt.Origin = DefaultOrigin
	}
	if opt.Queue <= 0 {
		opt.Queue = 4096
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.CheckpointEvery == 0 {
		opt.CheckpointEvery = 10 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := NewSigner(opt.Origin, opt.Key)
	if err != nil {
		_ = st.close()
		return nil, err
	}
	v, err := NewVerifier(opt.Origin, opt.Key.Public())
	if err != nil {
		_ = st.close()
		return nil, err
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		_ = st.close()
		return nil, fmt.Errorf("gmfield/audit: %w", err)
	}
	l := &Log{st: st, opt: opt, signer: s, verify: v, rf: &compact.RangeFactory{Hash: Hasher.HashChildren}, writer: hex.EncodeToString(id[:]),
		queue: make(chan *request, opt.Queue), kick: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.resume(ctx); err != nil {
		_ = st.close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// resume verifies the store as Verify does, with this log's key, and
// rebuilds the tree from every leaf: the writer extends only a log whose
// stored checkpoints its leaves give. A new store gets the checkpoint of
// the empty tree; a store holding leaves that no checkpoint beyond size 0
// signs (its checkpoints removed) is refused rather than signed anew.
// Only leaves after the last checkpoint are taken on trust. Opening reads
// the whole log once.
func (l *Log) resume(ctx context.Context) error {
	var r *Report
	for attempt := 0; ; attempt++ {
		var err error
		if r, err = Verify(ctx, l.st, l.verify); err != nil {
			return err
		}
		// Leaves that no checkpoint beyond size 0 signs: the checkpoints
		// were removed, or another instance is creating the log and has
		// not signed its first leaves yet (it does so after its first
		// append): look again before refusing.
		unsigned := r.Problem == Unsigned || r.OK() && r.Latest == 0 && r.Leaves > 0
		if !unsigned {
			break
		}
		if attempt == 4 {
			return fmt.Errorf("%w: %d leaves and no checkpoint beyond size 0: the checkpoints were removed; verify the log against a kept checkpoint (docs/audit.md) before writing to it", ErrCorrupt, r.Leaves)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !r.OK() {
		return fmt.Errorf("%w: the stored log does not verify with this key and origin, so it is not extended: %w", ErrCorrupt, r.Err())
	}
	l.rng = l.rf.NewEmptyRange(0)
	if err := l.catchUp(ctx, nil); err != nil {
		return err
	}
	if r.Checkpoints == 0 {
		return l.checkpoint(ctx)
	}
	l.cpSize, l.lastCP = r.Latest, time.Now()
	return nil
}

// rootOf is the root of a compact range from 0.
func rootOf(rng *compact.Range) []byte {
	if rng.End() == 0 {
		return Hasher.EmptyRoot()
	}
	root, _ := rng.GetRootHash(nil)
	return root
}

// catchUp appends to the tree the leaves the store holds beyond it
// (written by another instance, or by an append whose result was lost);
// seen, when set, is given each leaf.
func (l *Log) catchUp(ctx context.Context, seen func(idx uint64, leaf []byte)) error {
	return l.st.tail(ctx, l.rng.End(), func(idx uint64, leaf []byte) error {
		if idx != l.rng.End() {
			return fmt.Errorf("%w: leaf %d where %d was expected", ErrCorrupt, idx, l.rng.End())
		}
		if err := l.rng.Append(Hasher.HashLeaf(leaf), nil); err != nil {
			return err
		}
		if seen != nil {
			seen(idx, leaf)
		}
		return nil
	})
}

// catchUpOurs catches up, and reports whether leaves, from index start,
// were among what it read: leaves byte-equal to this writer's (they name
// it, "w") are its own, written by an append whose result was lost.
func (l *Log) catchUpOurs(ctx context.Context, start uint64, leaves [][]byte) (bool, error) {
	found := 0
	err := l.catchUp(ctx, func(idx uint64, leaf []byte) {
		if k := idx - start; idx >= start && k < uint64(len(leaves)) && string(leaf) == string(leaves[k]) {
			found++
		}
	})
	return len(leaves) > 0 && found == len(leaves), err
}

// Record implements Sink. In Async mode it keeps e until e is written:
// the caller must not change e, or the slices it holds, after the call.
func (l *Log) Record(ctx context.Context, e *Event) error {
	if l.opt.Mode == Async {
		// A statement that passed Reserve has run: its event is queued even
		// if the store has started failing since (it is retried, and
		// Close reports it if it never gets written).
		reserved := l.take()
		if !reserved {
			if err := l.failing(); err != nil {
				return err
			}
			// Without a reservation, only room nobody was promised.
			if int(l.reserved.Load())+len(l.queue) >= cap(l.queue) {
				return ErrQueueFull
			}
		}
		l.mu.RLock()
		defer l.mu.RUnlock()
		if l.closed {
			return fmt.Errorf("%w: closed", ErrUnavailable)
		}
		r := &request{e: e}
		select {
		case l.queue <- r:
		default:
			if !reserved {
				return ErrQueueFull
			}
			// Room was reserved but taken by a Record without Reserve.
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			select {
			case l.queue <- r:
			case <-t.C:
				return ErrQueueFull
			}
		}
		if len(l.queue) >= l.opt.Batch {
			l.wake()
		}
		return nil
	}
	body, err := encodeBody(e)
	if err != nil {
		return err
	}
	return l.wait(ctx, &request{body: body})
}

// wake kicks an async writer.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// wait queues r and waits for its result.
func (l *Log) wait(ctx context.Context, r *request) error {
	r.done = donePool.Get().(chan error)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return fmt.Errorf("%w: closed", ErrUnavailable)
	}
	select {
	case l.queue <- r:
	case <-ctx.Done():
		l.mu.RUnlock()
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	l.mu.RUnlock()
	l.wake()
	// The event is queued: wait for it even if ctx ends, so that the
	// statement's result says whether it was written.
	err := <-r.done
	donePool.Put(r.done)
	return err
}

// Reserve implements Gate: a closed log, and in Async mode a failing store
// or a queue without room, refuse the statement; otherwise, in Async
// mode, room for its event is reserved.
func (l *Log) Reserve() error {
	if err := l.failing(); err != nil {
		return err
	}
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return fmt.Errorf("%w: closed", ErrUnavailable)
	}
	if l.opt.Mode != Async {
		return nil
	}
	for {
		n := l.reserved.Load()
		if int(n)+len(l.queue) >= cap(l.queue) {
			return ErrQueueFull
		}
		if l.reserved.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

// Release implements Gate.
func (l *Log) Release() { l.take() }

// take uses up one reservation, reporting whether there was one.
func (l *Log) take() bool {
	for {
		n := l.reserved.Load()
		if n <= 0 {
			return false
		}
		if l.reserved.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (l *Log) failing() error {
	if p := l.errs.Load(); p != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, *p)
	}
	return nil
}

// Sync waits until every event recorded before it is written, then
// writes a checkpoint of the log's current size.
func (l *Log) Sync(ctx context.Context) error {
	return l.wait(ctx, &request{sync: true})
}

// Close writes the queued events and a final checkpoint, and closes the
// store. Events it could not write are reported in its error, never
// dropped silently.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return l.closeE
	}
	l.closed = true
	close(l.queue)
	l.mu.Unlock()
	l.wake()
	<-l.done
	return l.closeE
}

// run is the writer: it appends queued events in batches.
func (l *Log) run() {
	defer close(l.done)
	ctx := context.Background()
	batch := make([]*request, 0, l.opt.Batch)
	backoff := 50 * time.Millisecond
	var tick <-chan time.Time
	if l.opt.Mode == Async {
		t := time.NewTicker(linger)
		defer t.Stop()
		tick = t.C
	}
	for {
		r, ok := l.next(tick)
		if !ok {
			break
		}
		batch = append(batch[:0], r)
	drain:
		for len(batch) < l.opt.Batch {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for {
			err := l.write(ctx, batch)
			if err == nil || l.opt.Mode == Sync {
				l.answer(batch, err)
				break
			}
			// Async: keep the batch and try again; meanwhile Reserve and
			// Record refuse new statements.
			l.errs.Store(&err)
			l.opt.Logger.Warn("gmfield audit: append failed; retrying", "events", len(batch), "err", err)
			l.mu.RLock()
			closing := l.closed
			l.mu.RUnlock()
			if closing {
				l.answer(batch, err)
				l.closeE = errors.Join(l.closeE, fmt.Errorf("%w: %d events not written: %w", ErrUnavailable, len(batch)+len(l.queue), err))
				for r := range l.queue {
					l.answer([]*request{r}, err)
				}
				_ = l.st.close()
				return
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
		l.errs.Store(nil)
		backoff = 50 * time.Millisecond
	}
	if err := l.checkpoint(ctx); err != nil {
		l.closeE = errors.Join(l.closeE, err)
	}
	l.closeE = errors.Join(l.closeE, l.st.close())
}

// next waits for the first request of a batch: at once in Sync mode (a
// waiting caller is served without delay, and callers that queue
// meanwhile share the next append); in Async mode at the next tick or
// kick. It reports false when the queue is closed and empty.
func (l *Log) next(tick <-chan time.Time) (*request, bool) {
	if tick == nil {
		r, ok := <-l.queue
		return r, ok
	}
	for {
		select {
		case r, ok := <-l.queue:
			return r, ok
		default:
		}
		select {
		case <-tick:
		case <-l.kick:
		}
	}
}

func (l *Log) answer(batch []*request, err error) {
	for _, r := range batch {
		if r.done != nil {
			r.done <- err
		}
	}
}

// write appends the events of batch and, when due or asked, a
// checkpoint.
func (l *Log) write(ctx context.Context, batch []*request) error {
	written := false // the batch's leaves are in the store already
	if l.resync {
		// An async batch whose append failed, then its catch-up too, is
		// tried again: if its leaves are in the store after all, it is
		// not written twice.
		var err error
		if written, err = l.catchUpOurs(ctx, l.pendingAt, l.pending); err != nil {
			return err
		}
		l.resync, l.pending = false, nil
	}
	forced, n := false, 0
	for _, r := range batch {
		if r.sync {
			forced = true
		} else {
			n++
		}
	}
	if n > 0 && !written {
		for attempt := 0; ; attempt++ {
			start := l.rng.End()
			l.encode(batch, start)
			err := l.st.append(ctx, start, l.leaves)
			if err == nil {
				for _, lf := range l.leaves {
					if err := l.rng.Append(Hasher.HashLeaf(lf), nil); err != nil {
						return err
					}
				}
				break
			}
			// Another instance may have taken these indexes: read what it
			// wrote and try at the new end.
			ours, cerr := l.catchUpOurs(ctx, start, l.leaves)
			if cerr != nil {
				l.resync = true
				if l.opt.Mode == Async { // the same batch comes again
					l.pending, l.pendingAt = make([][]byte, len(l.leaves)), start
					for k, lf := range l.leaves {
						l.pending[k] = append([]byte(nil), lf...)
					}
				}
				return errors.Join(err, cerr)
			}
			if ours {
				break
			}
			if l.rng.End() == start || attempt >= 100 {
				l.resync = true
				return err
			}
		}
	}
	// A log's first leaves are signed at once, so that a log whose only
	// checkpoint is of size 0 reads as one whose checkpoints were removed.
	first := l.cpSize == 0 && l.rng.End() > 0
	if forced || first || (l.opt.CheckpointEvery > 0 && time.Since(l.lastCP) >= l.opt.CheckpointEvery) {
		if err := l.checkpoint(ctx); err != nil {
			if forced {
				return err
			}
			l.opt.Logger.Warn("gmfield audit: checkpoint failed", "size", l.rng.End(), "err", err)
		}
	}
	return nil
}

// encode makes the leaves of batch's events, from index start, in
// l.leaves (valid until the next encode).
func (l *Log) encode(batch []*request, start uint64) {
	l.buf, l.leaves = l.buf[:0], l.leaves[:0]
	var at []int
	i := start
	for _, r := range batch {
		if r.sync {
			continue
		}
		at = append(at, len(l.buf))
		if r.e != nil {
			l.buf = appendLeaf(l.buf, i, l.writer, r.e)
		} else {
			l.buf = leafBytes(l.buf, i, l.writer, r.body)
		}
		i++
	}
	for k, a := range at {
		end := len(l.buf)
		if k+1 < len(at) {
			end = at[k+1]
		}
		l.leaves = append(l.leaves, l.buf[a:end:end])
	}
	if cap(l.buf) > 1<<22 { // do not keep a huge batch's buffer
		defer func() { l.buf = nil }()
	}
}

// checkpoint signs and stores a checkpoint of the current tree, unless
// one of this size exists.
func (l *Log) checkpoint(ctx context.Context) error {
	size := l.rng.End()
	if size == l.cpSize && !l.lastCP.IsZero() {
		return nil
	}
	root := rootOf(l.rng)
	msg, err := note.Sign(&note.Note{Text: string(tlog.Checkpoint{Origin: l.opt.Origin, Size: size, Hash: root}.Marshal())}, l.signer)
	if err != nil {
		return fmt.Errorf("gmfield/audit: signing a checkpoint: %w", err)
	}
	if err := l.st.checkpoint(ctx, size, msg, l.rng.Hashes()); err != nil {
		return fmt.Errorf("gmfield/audit: storing the checkpoint of size %d: %w", size, err)
	}
	l.lastCP, l.cpSize = time.Now(), size
	return nil
}

// store keeps a log's leaves and checkpoints.
type store interface {
	// tail calls fn with each leaf from index from on, in order.
	tail(ctx context.Context, from uint64, fn func(idx uint64, leaf []byte) error) error
	// append writes leaves at indexes start… atomically: all or none.
	append(ctx context.Context, start uint64, leaves [][]byte) error
	// checkpoint stores a signed checkpoint of size with the tree's
	// compact-range hashes.
	checkpoint(ctx context.Context, size uint64, note []byte, hashes [][]byte) error
	close() error
	Source
}

// Source is a log's stored data, as verification and queries read it.
type Source interface {
	// Leaves calls fn with every leaf in order, with its stored index.
	Leaves(ctx context.Context, fn func(idx uint64, leaf []byte) error) error
	// Checkpoints returns every stored checkpoint, as signed notes.
	Checkpoints(ctx context.Context) ([][]byte, error)
}
