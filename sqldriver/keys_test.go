package sqldriver_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/sqldriver"
)

// TestRotationAndShredding rotates a column's DEK while the database is in
// use (old and new values stay readable), then destroys the old DEK: its
// values no longer open, on purpose.
func TestRotationAndShredding(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := newConfig(t, testConfig)
		_, db := b.open(t, cfg)
		b.schema(t, db)
		ctx := as("admin")
		_, err := db.ExecContext(ctx, `INSERT INTO citizen (id, phone, note) VALUES (?, ?, ?)`, 1, "13800000001", "old key")
		require.NoError(t, err)
		old, err := cfg.Keyring.Current(ctx, keyring.ColumnKeyspace("citizen", "phone"))
		require.NoError(t, err)
		_, err = cfg.Keyring.Rotate(ctx, keyring.ColumnKeyspace("citizen", "phone"))
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 2, "13800000002")
		require.NoError(t, err)
		for id, want := range map[int]string{1: "13800000001", 2: "13800000002"} {
			var phone string
			require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = ?`, id).Scan(&phone))
			assert.Equal(t, want, phone)
		}
		var id int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM citizen WHERE phone = ?`, "13800000001").Scan(&id),
			"blind indexes do not depend on the DEK")
		assert.Equal(t, 1, id)

		require.NoError(t, cfg.Keyring.Destroy(ctx, old.ID()))
		var phone string
		err = db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 1`).Scan(&phone)
		assert.ErrorIs(t, err, sqldriver.ErrOpen)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
		require.NoError(t, db.QueryRowContext(ctx, `SELECT phone FROM citizen WHERE id = 2`).Scan(&phone))
		assert.Equal(t, "13800000002", phone)
		var note sql.NullString
		require.NoError(t, db.QueryRowContext(ctx, `SELECT note FROM citizen WHERE id = 1`).Scan(&note),
			"note has its own DEK")
		assert.Equal(t, "old key", note.String)
	})
}

// TestTenantKeys seals each tenant's values under its own DEKs
// (key_scope: tenant): shredding one tenant leaves the others readable.
func TestTenantKeys(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		cfg := newConfig(t, "key_scope: tenant\n"+testConfig)
		_, db := b.open(t, cfg)
		b.schema(t, db)
		admin := as("admin")
		for id, tenant := range map[int]string{1: "beijing", 2: "shanghai"} {
			_, err := db.ExecContext(sqldriver.WithTenant(admin, tenant), `INSERT INTO citizen (id, phone) VALUES (?, ?)`, id, "1380000000"+string(rune('0'+id)))
			require.NoError(t, err)
		}
		_, err := db.ExecContext(admin, `INSERT INTO citizen (id, phone) VALUES (?, ?)`, 3, "13800000003")
		assert.ErrorIs(t, err, sqldriver.ErrNoTenant)

		recs, err := cfg.Keyring.List(admin)
		require.NoError(t, err)
		destroyed := 0
		for _, r := range recs {
			if r.Keyspace == "tenant/beijing/citizen.phone" {
				require.NoError(t, cfg.Keyring.Destroy(admin, r.ID))
				destroyed++
			}
		}
		require.Equal(t, 1, destroyed)
		var phone string
		err = db.QueryRowContext(admin, `SELECT phone FROM citizen WHERE id = 1`).Scan(&phone)
		assert.ErrorIs(t, err, keyring.ErrKeyDestroyed)
		require.NoError(t, db.QueryRowContext(admin, `SELECT phone FROM citizen WHERE id = 2`).Scan(&phone))
		assert.Equal(t, "13800000002", phone)
	})
}
