package lifecycle_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/masking"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// BenchmarkExportCSV exports 20,000 citizens (5 protected columns) from
// SQLite into CSV. side=plain-copy reads the stored rows with the plain
// driver and writes them with the same CSV sink: the baseline.
// side=role-mask exports as the clerk (the driver opens and masks every
// value); side=rules applies static-masking rules (two pseudonyms, a name
// mask, an address and a date generalization). rows/s is the throughput.
func BenchmarkExportCSV(b *testing.B) {
	const n = 20_000
	e := newExportEnv(b, backends[0], n)
	clerk := masking.Principal{ID: "bench", Roles: []string{"clerk"}}
	b.Run("side=plain-copy", func(b *testing.B) {
		benchExport(b, func(out string) runner { return plainCopy{e: e, out: out} }, n)
	})
	b.Run("side=role-mask", func(b *testing.B) {
		benchExport(b, func(out string) runner {
			return &lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen", Principal: clerk, To: lifecycle.NewCSVSink(out)}
		}, n)
	})
	r := rules(b, staticRules)
	b.Run("side=rules", func(b *testing.B) {
		benchExport(b, func(out string) runner {
			return &lifecycle.Export{Source: e.src, Config: e.cfg, Dialect: "sqlite", Table: "citizen", Principal: clerk,
				Rules: r, Reason: "benchmark", To: lifecycle.NewCSVSink(out)}
		}, n)
	})
}

type runner interface {
	Run(ctx context.Context) (lifecycle.Summary, error)
}

// plainCopy is the baseline: the stored rows, read in the same batches
// by the plain driver and written by the same sink.
type plainCopy struct {
	e   *exportEnv
	out string
}

func (p plainCopy) Run(ctx context.Context) (lifecycle.Summary, error) {
	var sum lifecycle.Summary
	s := lifecycle.NewCSVSink(p.out)
	cols := []lifecycle.SinkColumn{{Name: "id", Key: true, Integer: true}, {Name: "id_no"}, {Name: "phone"}, {Name: "name"}, {Name: "address"}, {Name: "birth"}, {Name: "city"}}
	if _, err := s.Open(ctx, "copy", cols); err != nil {
		return sum, err
	}
	last := int64(0)
	for {
		rows, err := p.e.raw.QueryContext(ctx, `SELECT id, id_no, phone, name, address, birth, city FROM citizen WHERE id > ? ORDER BY id LIMIT 1000`, last)
		if err != nil {
			return sum, err
		}
		var batch [][]any
		for rows.Next() {
			v := make([]any, 7)
			ptrs := make([]any, 7)
			for i := range v {
				ptrs[i] = &v[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return sum, err
			}
			batch = append(batch, v)
			last = v[0].(int64)
		}
		rows.Close()
		if len(batch) == 0 {
			break
		}
		if err := s.Write(ctx, batch, fmt.Sprint(last)); err != nil {
			return sum, err
		}
		sum.Changed += int64(len(batch))
	}
	return sum, s.Close(ctx)
}

func benchExport(b *testing.B, x func(out string) runner, rows int) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		sum, err := x(filepath.Join(dir, fmt.Sprintf("%d.csv", i))).Run(b.Context())
		require.NoError(b, err)
		require.EqualValues(b, rows, sum.Changed)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
