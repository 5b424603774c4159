package lifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// BenchmarkMigrate seals a plaintext table of 20,000 rows (three
// protected columns, two blind indexes) on each backend: the job
// ("gmfield") against a naive loop that reads every row and writes it back
// with one UPDATE per row, through the same Codec ("naive"). The rows/s
// metric is the one to compare; docs/performance.md has the numbers.
//
//	go test ./sqldriver/lifecycle -run '^$' -bench Migrate -benchmem -count 6
func BenchmarkMigrate(b *testing.B) {
	const rows = 20000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be, opts{})
			e.fill(b, 1, rows)
			e.ddl(b)
			_, err := e.raw.Exec(`CREATE TABLE citizen_src AS SELECT * FROM citizen`)
			require.NoError(b, err)
			reset := func() {
				b.StopTimer()
				for _, q := range []string{`DELETE FROM citizen`, `INSERT INTO citizen SELECT * FROM citizen_src`, `DELETE FROM gmfield_jobs`} {
					_, err := e.raw.Exec(q)
					if err != nil && q != `DELETE FROM gmfield_jobs` {
						require.NoError(b, err, q)
					}
				}
				b.StartTimer()
			}
			for _, side := range []string{"naive", "gmfield"} {
				b.Run("side="+side, func(b *testing.B) {
					var total time.Duration
					for i := 0; i < b.N; i++ {
						reset()
						start := time.Now()
						if side == "naive" {
							naiveMigrate(b, e)
						} else {
							sum, err := (&lifecycle.Job{DB: e.raw, Config: e.cfg, Dialect: be.name, Table: "citizen"}).Migrate(context.Background())
							require.NoError(b, err)
							require.Equal(b, int64(rows), sum.Changed)
						}
						total += time.Since(start)
					}
					b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
				})
			}
		})
	}
}

// naiveMigrate is the loop a user writes by hand: read every row, seal,
// UPDATE one row per round trip.
func naiveMigrate(b *testing.B, e *env) {
	ctx := context.Background()
	codec, err := sqldriver.NewCodec(ctx, e.cfg)
	require.NoError(b, err)
	rs, err := e.raw.Query(`SELECT id, id_no, phone, name FROM citizen ORDER BY id`)
	require.NoError(b, err)
	type rec struct {
		id             int64
		idNo, ph, name string
	}
	var all []rec
	for rs.Next() {
		var r rec
		require.NoError(b, rs.Scan(&r.id, &r.idNo, &r.ph, &r.name))
		all = append(all, r)
	}
	require.NoError(b, rs.Close())
	upd, err := e.raw.Prepare(e.b.ph(`UPDATE citizen SET id_no = ?, id_no_bidx = ?, phone = ?, phone_bidx = ?, name = ? WHERE id = ?`))
	require.NoError(b, err)
	defer upd.Close()
	for _, r := range all {
		args := []any{}
		for _, c := range []struct{ col, v, ix string }{{"id_no", r.idNo, "id_no_bidx"}, {"phone", r.ph, "phone_bidx"}, {"name", r.name, ""}} {
			p := sqldriver.Place{Table: "citizen", Column: c.col, RowKey: r.id}
			s, err := codec.Seal(ctx, p, []byte(c.v))
			require.NoError(b, err)
			args = append(args, s)
			if c.ix != "" {
				x, err := codec.Index(ctx, p, c.ix, []byte(c.v))
				require.NoError(b, err)
				args = append(args, x)
			}
		}
		_, err := upd.Exec(append(args, r.id)...)
		require.NoError(b, err, fmt.Sprint(r.id))
	}
}
