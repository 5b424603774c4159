package redisbudget_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/guard"
	"github.com/gmfield/gmfield/guard/redisbudget"
	"github.com/gmfield/gmfield/masking"
)

// client returns a client of the Redis at $GMFIELD_TEST_REDIS_ADDR, and a
// key prefix of the test's own.
func client(t *testing.T) (*redis.Client, string) {
	addr := os.Getenv("GMFIELD_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("GMFIELD_TEST_REDIS_ADDR is not set (scripts/test.sh sets it)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Ping(context.Background()).Err())
	var b [6]byte
	_, _ = rand.Read(b[:])
	return c, "gmfield-test:" + hex.EncodeToString(b[:]) + ":"
}

func TestTakeGive(t *testing.T) {
	c, prefix := client(t)
	ctx := context.Background()
	rc := redisbudget.New(c, redisbudget.Options{Prefix: prefix})
	slot, ok, err := rc.Take(ctx, "clerk-7", 6, 10, time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	_, ok, err = rc.Take(ctx, "clerk-7", 5, 10, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "all or nothing: 6 + 5 > 10")
	_, ok, _ = rc.Take(ctx, "clerk-8", 10, 10, time.Minute)
	assert.True(t, ok, "another principal")
	require.NoError(t, rc.Give(ctx, "clerk-7", slot, 4, time.Minute))
	_, ok, _ = rc.Take(ctx, "clerk-7", 8, 10, time.Minute)
	assert.True(t, ok, "2 + 8 after the refund")
	require.NoError(t, rc.Give(ctx, "clerk-7", slot, 1000, time.Minute))
	_, ok, _ = rc.Take(ctx, "clerk-7", 10, 10, time.Minute)
	assert.True(t, ok, "a refund never goes below zero, and frees what was taken")

	key := rc.Key("clerk-7", time.Minute)
	assert.NotContains(t, key, "clerk-7", "principal ids are hashed")
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Minute)
	assert.LessOrEqual(t, ttl, time.Minute+3*guard.SlotWidth(time.Minute))
}

// TestTwoInstances: two guards of two instances sharing one Redis never
// together decrypt more than the principal's budget, under 16 goroutines.
func TestTwoInstances(t *testing.T) {
	c, prefix := client(t)
	const budget = 2000
	var guards []*guard.Guard
	for range 2 {
		g, err := guard.New(guard.Config{Counter: redisbudget.New(c, redisbudget.Options{Prefix: prefix, Timeout: 2 * time.Second}),
			Roles: map[string]guard.Role{"clerk": {Budget: guard.Budget{Values: budget, Window: time.Hour}}}})
		require.NoError(t, err)
		guards = append(guards, g)
	}
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		g := guards[i%2]
		wg.Go(func() {
			for range 30 {
				u, err := g.Admit(context.Background(), masking.Principal{ID: "clerk-7", Roles: []string{"clerk"}}, sel)
				if !assert.NoError(t, err) {
					return
				}
				for range 10 {
					if err := u.Row(2, "citizen.phone"); err != nil {
						assert.ErrorIs(t, err, guard.ErrBudgetExceeded)
						break
					}
					total.Add(2)
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, total.Load(), int64(budget))
	assert.GreaterOrEqual(t, total.Load(), int64(budget-2*2*64), "at most one batch of each instance held back")
}

// TestDown: a Redis that does not answer fails within the timeout, and
// the guard's fallback applies.
func TestDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer down.Close()
	rc := redisbudget.New(down, redisbudget.Options{Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, _, err := rc.Take(context.Background(), "p", 1, 10, time.Minute)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	sel := &guard.Statement{Kind: guard.KindSelect, Reads: true, Where: true}
	for _, c := range []struct {
		fb   guard.Fallback
		pass int
	}{{guard.FailClosed, 0}, {guard.FailLocal, 5}} {
		g, err := guard.New(guard.Config{Counter: rc, OnUnavailable: c.fb, Roles: map[string]guard.Role{"r": {Budget: guard.Budget{Values: 5, Window: time.Minute}}}})
		require.NoError(t, err)
		u, err := g.Admit(context.Background(), masking.Principal{ID: "p", Roles: []string{"r"}}, sel)
		require.NoError(t, err)
		n := 0
		for ; n < 10; n++ {
			if err = u.Row(1, "citizen.phone"); err != nil {
				break
			}
		}
		assert.Equal(t, c.pass, n)
		if c.fb == guard.FailClosed {
			assert.ErrorIs(t, err, guard.ErrUnavailable)
		} else {
			assert.ErrorIs(t, err, guard.ErrBudgetExceeded)
		}
	}
}
