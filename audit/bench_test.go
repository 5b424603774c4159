package audit_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gmfield/gmfield/audit"
)

// BenchmarkAppend measures events per second into a directory log:
// asynchronous (one caller, batched appends), and synchronous with 16
// callers (their events share fsyncs). Each iteration records one event;
// the log is synced (its events durable, a checkpoint signed) before the
// clock stops.
//
//	go test ./audit -run '^$' -bench Append -benchmem -count 6
func BenchmarkAppend(b *testing.B) {
	k, _ := newKey(b)
	e := event(1)
	b.Run("async", func(b *testing.B) {
		l, err := audit.OpenDir(context.Background(), b.TempDir(), audit.Options{Key: k, Mode: audit.Async, Queue: 1 << 16, Batch: 1024})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		b.ReportAllocs()
		for b.Loop() {
			for {
				err := l.Record(context.Background(), e)
				if err == nil {
					break
				}
				if err != audit.ErrQueueFull {
					b.Fatal(err)
				}
				if err := l.Sync(context.Background()); err != nil { // let the writer catch up
					b.Fatal(err)
				}
			}
		}
		if err := l.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("sync-16", func(b *testing.B) {
		l, err := audit.OpenDir(context.Background(), b.TempDir(), audit.Options{Key: k})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		b.ReportAllocs()
		b.SetParallelism(8) // 16 goroutines on 2 cores
		var once sync.Once
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := l.Record(context.Background(), e); err != nil {
					once.Do(func() { b.Error(err) })
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
