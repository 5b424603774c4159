package lifecycle

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// JobsTable is the table, in the job's own database, where jobs keep
// their checkpoints (docs/lifecycle.md).
const JobsTable = "gmfield_jobs"

// checkpoint is a job's row in JobsTable. Each batch moves it in the
// transaction that writes the batch, with a compare-and-set on the batch
// counter, so a crash loses no batch and redoes none, and a second run of
// the same job fails with ErrBusy instead of writing beside the first.
type checkpoint struct {
	id      string
	batches int64
	last    driver.Value // key after which work resumes; nil: from the start
}

func createJobsTable(ctx context.Context, db *sql.DB, d *dialect) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+JobsTable+` (
	id VARCHAR(255) NOT NULL PRIMARY KEY,
	kind VARCHAR(32) NOT NULL,
	tbl VARCHAR(255) NOT NULL,
	state VARCHAR(16) NOT NULL,
	last_key TEXT,
	batches BIGINT NOT NULL,
	updated VARCHAR(40) NOT NULL
)`)
	if err != nil {
		return fmt.Errorf("gmfield/lifecycle: creating %s: %w", JobsTable, err)
	}
	return nil
}

// openCheckpoint returns job id's checkpoint: where an interrupted run
// stopped, or a fresh start after a finished one.
func openCheckpoint(ctx context.Context, db *sql.DB, d *dialect, id, kind, tbl string, kt interface {
	Value(string) (driver.Value, error)
}) (checkpoint, error) {
	cp := checkpoint{id: id}
	if err := createJobsTable(ctx, db, d); err != nil {
		return cp, err
	}
	var state string
	var last sql.NullString
	err := db.QueryRowContext(ctx, "SELECT state, last_key, batches FROM "+JobsTable+" WHERE id = "+d.ph(1), id).Scan(&state, &last, &cp.batches)
	now := time.Now().UTC().Format(time.RFC3339)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = db.ExecContext(ctx, "INSERT INTO "+JobsTable+" (id, kind, tbl, state, last_key, batches, updated) VALUES ("+
			d.ph(1)+", "+d.ph(2)+", "+d.ph(3)+", 'running', NULL, 0, "+d.ph(4)+")", id, kind, tbl, now)
		if err != nil {
			return cp, fmt.Errorf("gmfield/lifecycle: %s: %w", JobsTable, err)
		}
		return cp, nil
	case err != nil:
		return cp, fmt.Errorf("gmfield/lifecycle: %s: %w", JobsTable, err)
	}
	if state == "running" && last.Valid {
		if cp.last, err = kt.Value(last.String); err != nil {
			return cp, fmt.Errorf("%w: %s: checkpoint of %s: %v", ErrInvalid, JobsTable, id, err)
		}
		return cp, nil
	}
	// A finished run: start again from the beginning (a rerun is a
	// no-op where the work is done).
	res, err := db.ExecContext(ctx, "UPDATE "+JobsTable+" SET state = 'running', last_key = NULL, batches = "+d.ph(1)+", updated = "+d.ph(2)+
		" WHERE id = "+d.ph(3)+" AND batches = "+d.ph(4), cp.batches+1, now, id, cp.batches)
	if err == nil {
		err = oneRow(res)
	}
	cp.batches++
	return cp, err
}

// advance moves the checkpoint to key last, inside tx. The caller calls
// committed once tx commits: a transaction that fails to commit (and is
// retried) must find the counter where it was.
func (cp *checkpoint) advance(ctx context.Context, tx *sql.Tx, d *dialect, last string) error {
	res, err := tx.ExecContext(ctx, "UPDATE "+JobsTable+" SET last_key = "+d.ph(1)+", batches = "+d.ph(2)+", updated = "+d.ph(3)+
		" WHERE id = "+d.ph(4)+" AND batches = "+d.ph(5), last, cp.batches+1, time.Now().UTC().Format(time.RFC3339), cp.id, cp.batches)
	if err == nil {
		err = oneRow(res)
	}
	return err
}

// committed records that the transaction of advance committed.
func (cp *checkpoint) committed() { cp.batches++ }

// finish marks the job done.
func (cp *checkpoint) finish(ctx context.Context, db *sql.DB, d *dialect) error {
	res, err := db.ExecContext(ctx, "UPDATE "+JobsTable+" SET state = 'done', batches = "+d.ph(1)+", updated = "+d.ph(2)+
		" WHERE id = "+d.ph(3)+" AND batches = "+d.ph(4), cp.batches+1, time.Now().UTC().Format(time.RFC3339), cp.id, cp.batches)
	if err == nil {
		err = oneRow(res)
	}
	return err
}

func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrBusy
	}
	return nil
}
