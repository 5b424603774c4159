package lifecycle

import (
	"log/slog"
	"sync"
	"time"
)

// LogProgress is a Progress that logs a line every Interval (default 10
// s) with the rows done, the rate and the time left: the progress of jobs
// run without a terminal (CI, cron, pipes).
type LogProgress struct {
	Log      *slog.Logger
	Name     string // the job, for the log lines
	Interval time.Duration

	mu          sync.Mutex
	total, done int64
	start, last time.Time
	startDone   int64
}

// Start implements Progress.
func (p *LogProgress) Start(total, done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done, p.startDone = total, done, done
	p.start = time.Now()
	p.last = p.start
}

// Add implements Progress.
func (p *LogProgress) Add(rows int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += rows
	iv := p.Interval
	if iv <= 0 {
		iv = 10 * time.Second
	}
	if now := time.Now(); now.Sub(p.last) >= iv {
		p.last = now
		p.line("gmfield: progress")
	}
}

// Finish implements Progress.
func (p *LogProgress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line("gmfield: progress done")
}

func (p *LogProgress) line(msg string) {
	if p.Log == nil {
		return
	}
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done-p.startDone) / el
	}
	attrs := []any{"job", p.Name, "rows", p.done, "of", p.total, "rows_per_s", int64(rate)}
	if rate > 0 && p.total > p.done {
		attrs = append(attrs, "eta", time.Duration(float64(time.Second)*float64(p.total-p.done)/rate).Round(time.Second))
	}
	p.Log.Info(msg, attrs...)
}
