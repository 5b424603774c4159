package sqldriver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/audit"
)

// eventLog is an audit sink that keeps its events.
type eventLog struct {
	mu     sync.Mutex
	events []audit.Event
}

func (l *eventLog) Record(_ context.Context, e *audit.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, *e)
	return nil
}

func (l *eventLog) outcomes() []audit.Outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []audit.Outcome
	for _, e := range l.events {
		out = append(out, e.Outcome)
	}
	return out
}

// TestFastPathSkipBindsOnce: go-sql-driver/mysql answers every statement
// with arguments with driver.ErrSkip (without interpolateParams) after the
// driver has bound it. The statement must still be sealed once, admitted
// once and recorded once: one event, outcome ok, and no second bind by
// database/sql's prepared fallback.
func TestFastPathSkipBindsOnce(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		o := observe(t)
		log := new(eventLog)
		cfg := o.config(newConfig(t, testConfig))
		cfg.Audit = log
		_, db := b.open(t, cfg)
		b.schema(t, db)
		before := len(log.outcomes())
		_, err := db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone, name) VALUES (?, ?, ?)`, 1, "13800138000", "张三")
		require.NoError(t, err)
		var name string
		require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT name FROM citizen WHERE phone = ?`, "13800138000").Scan(&name))
		assert.Equal(t, "张*", name)
		assert.Equal(t, []audit.Outcome{audit.OK, audit.OK}, log.outcomes()[before:], "one event per statement")
		c := o.counters(t)
		assert.EqualValues(t, 1, c["gmfield.values{gmfield.action=sealed,gmfield.column=phone,gmfield.table=citizen}"], "sealed once")
		assert.EqualValues(t, 1, c["gmfield.index.lookups{gmfield.column=phone,gmfield.index=full,gmfield.table=citizen}"], "bound once")
		assert.EqualValues(t, 1, c["gmfield.values{gmfield.action=masked,gmfield.column=name,gmfield.table=citizen}"])
	})
}
