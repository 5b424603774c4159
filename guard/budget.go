package guard

import (
	"context"
	"sync"
	"time"
)

// Counter counts the protected values each principal decrypts, for
// window budgets, in sliding windows of Slots slots of SlotWidth: a
// value taken in slot s counts in every check of slots s through
// s+Slots-1, so that no window of the budget's length ever holds more
// than its limit, even for values used up to half a slot after they were
// taken (a guard's lease); a value counts for between one window plus
// one slot and one window plus two.
// Implementations are safe for concurrent use.
type Counter interface {
	// Take adds n to key's count in the current slot of window if the
	// counts of the window's slots plus n are at most limit, all or
	// nothing. It returns the slot (for Give) and whether n fitted.
	Take(ctx context.Context, key string, n, limit int64, window time.Duration) (slot int64, ok bool, err error)
	// Give subtracts n, taken at slot and not used, from key's count; a
	// slot already out of the window is left alone.
	Give(ctx context.Context, key string, slot, n int64, window time.Duration) error
}

// Slots is the number of slots that a Counter sums for a window: the
// current one and the Slots-1 before it, two more than the window holds.
const Slots = 62

// SlotWidth is the width of one slot of window: a sixtieth of it,
// rounded up to a whole millisecond, so that 60 slots always cover the
// window.
func SlotWidth(window time.Duration) time.Duration {
	ms := (window.Milliseconds() + 59) / 60
	return time.Duration(max(ms, 1)) * time.Millisecond
}

// MemoryCounter is the in-process Counter.
type MemoryCounter struct {
	now   func() time.Time
	mu    sync.Mutex
	keys  map[memKey]*slots
	takes int
}

type memKey struct {
	key    string
	window time.Duration
}

type slots struct {
	n    [Slots]int64
	slot [Slots]int64 // the slot each entry counts, or 0
	last int64
}

// NewMemoryCounter returns an in-process counter with clock now (time.Now
// if nil).
func NewMemoryCounter(now func() time.Time) *MemoryCounter {
	if now == nil {
		now = time.Now
	}
	return &MemoryCounter{now: now, keys: map[memKey]*slots{}}
}

func (c *MemoryCounter) current(window time.Duration) int64 {
	return c.now().UnixMilli() / SlotWidth(window).Milliseconds()
}

// Take implements Counter.
func (c *MemoryCounter) Take(_ context.Context, key string, n, limit int64, window time.Duration) (int64, bool, error) {
	cur := c.current(window)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.takes++
	if c.takes%4096 == 0 {
		c.sweep()
	}
	k := memKey{key, window}
	s := c.keys[k]
	if s == nil {
		s = &slots{}
		c.keys[k] = s
	}
	var sum int64
	for i := range s.n {
		if s.slot[i] > cur-Slots {
			sum += s.n[i]
		}
	}
	if sum+n > limit {
		return cur, false, nil
	}
	i := cur % Slots
	if s.slot[i] != cur {
		s.slot[i], s.n[i] = cur, 0
	}
	s.n[i] += n
	s.last = cur
	return cur, true, nil
}

// Give implements Counter.
func (c *MemoryCounter) Give(_ context.Context, key string, slot, n int64, window time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.keys[memKey{key, window}]
	if s == nil {
		return nil
	}
	if i := slot % Slots; s.slot[i] == slot {
		s.n[i] = max(s.n[i]-n, 0)
	}
	return nil
}

// sweep forgets keys whose every slot is out of their window.
func (c *MemoryCounter) sweep() {
	for k, s := range c.keys {
		if s.last <= c.current(k.window)-Slots {
			delete(c.keys, k)
		}
	}
}
