// Package redisbudget counts the guard's window budgets in Redis, so
// that a fleet of application instances shares each principal's budget
// (guard.Config.Counter). Every check is one atomic Lua script on one
// hash per principal and window, timed by the Redis server's clock: two
// instances never together take more than a budget. Principal ids are
// not stored; keys hold the SM3 hash of the id.
package redisbudget

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/redis/go-redis/v9"

	"github.com/gmfield/gmfield/guard"
)

// DefaultPrefix begins every key.
const DefaultPrefix = "gmfield:budget:"

// Options configure a Counter.
type Options struct {
	// Prefix begins every key (DefaultPrefix if empty).
	Prefix string
	// Timeout bounds each call (default 200ms); a call that takes longer
	// fails, and the guard's on_unavailable applies.
	Timeout time.Duration
}

// Counter is a guard.Counter in Redis.
type Counter struct {
	c       redis.Scripter
	prefix  string
	timeout time.Duration
}

var _ guard.Counter = (*Counter)(nil)

// New returns a Counter that uses c (a *redis.Client, *redis.ClusterClient
// or *redis.Ring; with a cluster, one principal's key lives on one node).
func New(c redis.Scripter, opt Options) *Counter {
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 200 * time.Millisecond
	}
	return &Counter{c: c, prefix: opt.Prefix, timeout: opt.Timeout}
}

// The scripts read the slot from the server's clock (TIME), drop the
// slots out of the window, and take or give back all or nothing.
var (
	take = redis.NewScript(`
local t = redis.call('TIME')
local width = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
local cur = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / width)
local n = tonumber(ARGV[1])
local vals = redis.call('HGETALL', KEYS[1])
local sum = 0
for i = 1, #vals, 2 do
  if tonumber(vals[i]) <= cur - slots then
    redis.call('HDEL', KEYS[1], vals[i])
  else
    sum = sum + tonumber(vals[i + 1])
  end
end
if sum + n > tonumber(ARGV[2]) then
  return {0, cur}
end
redis.call('HINCRBY', KEYS[1], cur, n)
redis.call('PEXPIRE', KEYS[1], width * (slots + 1))
return {1, cur}
`)
	give = redis.NewScript(`
local t = redis.call('TIME')
local width = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
local cur = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / width)
if tonumber(ARGV[1]) <= cur - slots then
  return 0
end
local have = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local n = math.min(tonumber(ARGV[2]), have)
if n > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -n)
end
return n
`)
)

// Key returns the Redis key of a principal's window budget.
func (c *Counter) Key(principal string, window time.Duration) string {
	sum := sm3.Sum([]byte(principal))
	return c.prefix + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(window.Milliseconds(), 10)
}

// Take implements guard.Counter.
func (c *Counter) Take(ctx context.Context, key string, n, limit int64, window time.Duration) (int64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := take.Run(ctx, c.c, []string{c.Key(key, window)}, n, limit, guard.SlotWidth(window).Milliseconds(), guard.Slots).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("redis: %w", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("redis: the budget script returned %d values", len(res))
	}
	return res[1], res[0] == 1, nil
}

// Give implements guard.Counter.
func (c *Counter) Give(ctx context.Context, key string, slot, n int64, window time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := give.Run(ctx, c.c, []string{c.Key(key, window)}, slot, n, guard.SlotWidth(window).Milliseconds(), guard.Slots).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
