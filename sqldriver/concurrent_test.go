package sqldriver_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/masking"
)

// TestConcurrentRolesAndWrites runs 16 goroutines that write rows and read
// them back under different roles through one pool and shared prepared
// statements; run it with -race.
func TestConcurrentRolesAndWrites(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		_, db := b.open(t, newConfig(t, testConfig))
		b.schema(t, db)
		db.SetMaxOpenConns(8)
		sel, err := db.PrepareContext(as("admin"), `SELECT phone, name FROM citizen WHERE id = ?`)
		require.NoError(t, err)
		defer sel.Close()
		search, err := db.PrepareContext(as("admin"), `SELECT id FROM citizen WHERE phone = ?`)
		require.NoError(t, err)
		defer search.Close()
		roles := []string{"admin", "clerk", "auditor", "analyst", "default"}
		const workers, perWorker = 16, 12
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWorker)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < perWorker; i++ {
					id := w*1000 + i
					phone := fmt.Sprintf("139%04d%04d", w, i)
					name := fmt.Sprintf("用户%d", id)
					if _, err := db.ExecContext(as("admin"), `INSERT INTO citizen (id, phone, name) VALUES (?, ?, ?)`, id, phone, name); err != nil {
						errs <- err
						return
					}
					role := roles[(w+i)%len(roles)]
					var p, n *string
					if err := sel.QueryRowContext(as(role), id).Scan(&p, &n); err != nil {
						errs <- fmt.Errorf("%s: %w", role, err)
						return
					}
					var found int
					err := search.QueryRowContext(as(role), phone).Scan(&found)
					switch {
					case role == "default" && !errors.Is(err, masking.ErrDenied):
						errs <- fmt.Errorf("default role searched: %v", err)
					case role != "default" && (err != nil || found != id):
						errs <- fmt.Errorf("%s search: %d, %v", role, found, err)
					}
					var want string
					switch role {
					case "admin", "auditor":
						want = phone
					case "clerk":
						want = phone[:3] + "****" + phone[7:]
					}
					switch {
					case want != "" && (p == nil || *p != want):
						errs <- fmt.Errorf("%s read %v, want %s", role, p, want)
					case role == "default" && p != nil:
						errs <- fmt.Errorf("default role read %s", *p)
					case role == "analyst" && (p == nil || *p == phone):
						errs <- fmt.Errorf("analyst read %v", p)
					}
					if role == "admin" && (n == nil || *n != name) {
						errs <- fmt.Errorf("admin read name %v, want %s", n, name)
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		var n int
		require.NoError(t, db.QueryRowContext(as("clerk"), `SELECT COUNT(*) FROM citizen`).Scan(&n))
		assert.Equal(t, workers*perWorker, n)
	})
}
