package sqldriver

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
)

// Codec seals, opens and indexes values of a configuration's protected
// columns outside SQL statements, by the same rules as the driver: the
// lifecycle jobs (package lifecycle) bring plaintext tables in, re-seal
// after a rotation and verify with it. Values, keys and ciphertexts never
// appear in its errors.
type Codec struct{ s *schema }

// NewCodec returns a Codec for cfg. Like Wrap, it validates cfg and loads
// the blind-index root.
func NewCodec(ctx context.Context, cfg *Config) (*Codec, error) {
	s, err := newSchema(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Codec{s: s}, nil
}

// Place is where one stored value lives.
type Place struct {
	Table, Column string
	// Tenant is the row's tenant, under key_scope tenant.
	Tenant string
	// RowKey is the row's key as the database returns it (or as a caller
	// binds it); nil for a table without a row key.
	RowKey driver.Value
}

// Stored describes a stored value without opening it.
type Stored struct {
	Null    bool   // SQL NULL
	Sealed  bool   // an envelope (else plaintext)
	KeyID   string // the DEK an envelope names
	Version byte   // the envelope's format version (crypto.Version2, or 1)
}

// Inspect says what a stored value of table.column is. A value with the
// text prefix that does not parse is an error wrapping ErrOpen (a damaged
// envelope), not plaintext.
func (c *Codec) Inspect(table, column string, stored driver.Value) (Stored, error) {
	pc, err := c.col(table, column)
	if err != nil {
		return Stored{}, err
	}
	if stored == nil {
		return Stored{Null: true}, nil
	}
	b, _, err := valueBytes(stored)
	if err != nil {
		return Stored{}, fmt.Errorf("%w: %s.%s: %v", ErrOpen, pc.table, pc.column, err)
	}
	var env crypto.Envelope
	if pc.form == FormBinary {
		if env, err = crypto.Parse(b); err != nil {
			return Stored{}, nil // binary plaintext
		}
	} else {
		if !crypto.IsText(b) {
			return Stored{}, nil
		}
		if env, err = crypto.ParseText(b); err != nil {
			return Stored{}, fmt.Errorf("%w: %s.%s: %w", ErrOpen, pc.table, pc.column, err)
		}
	}
	return Stored{Sealed: true, KeyID: env.KeyID, Version: env.Version}, nil
}

// Seal seals plain for p under the current DEK of p's keyspace, in the
// column's form (a string for text, []byte for binary).
func (c *Codec) Seal(ctx context.Context, p Place, plain []byte) (driver.Value, error) {
	pc, loc, err := c.locate(p)
	if err != nil {
		return nil, err
	}
	v, err := c.s.seal(ctx, pc, loc, plain)
	if err == nil {
		c.s.tel.value(ctx, pc, valueSealed, 1)
	}
	return v, err
}

// Open opens a stored envelope of p. A failure wraps ErrOpen and names the
// column.
func (c *Codec) Open(ctx context.Context, p Place, stored driver.Value) ([]byte, error) {
	pc, loc, err := c.locate(p)
	if err != nil {
		return nil, err
	}
	b, _, err := valueBytes(stored)
	if err != nil || stored == nil {
		return nil, fmt.Errorf("%w: %s.%s: not a stored envelope", ErrOpen, pc.table, pc.column)
	}
	plain, err := pc.open(nil, &keySource{ctx: ctx, s: c.s}, loc, b)
	if err != nil {
		return nil, openError(pc, err)
	}
	return plain, nil
}

// Index returns the value of p's blind index stored in column index (hex
// text) for plain.
func (c *Codec) Index(ctx context.Context, p Place, index string, plain []byte) (string, error) {
	pc, _, err := c.locate(p)
	if err != nil {
		return "", err
	}
	d, err := c.s.indexes(WithTenant(ctx, p.Tenant), pc, false)
	if err != nil {
		return "", err
	}
	tc := c.s.cat.Table(pc.table)
	ic := tc.IndexColumns[strings.ToLower(index)]
	if ic == nil || ic.Name != pc.column {
		return "", fmt.Errorf("%w: %s.%s has no index column %s", ErrInvalidConfig, pc.table, pc.column, index)
	}
	for _, ix := range ic.Indexes {
		if ix.Column == strings.ToLower(index) {
			out, err := d.indexes[ix.Transform].SumHex(nil, plain)
			if err != nil {
				return "", fmt.Errorf("%w: %s.%s: %v", ErrBadValue, pc.table, pc.column, err)
			}
			return string(out), nil
		}
	}
	return "", fmt.Errorf("%w: %s.%s has no index column %s", ErrInvalidConfig, pc.table, pc.column, index)
}

// CurrentKeyID returns the id of the DEK that seals new values of p. Like
// keyring.Keyring.Current it counts one seal: ask once per keyspace.
func (c *Codec) CurrentKeyID(ctx context.Context, p Place) (string, error) {
	_, loc, err := c.locate(p)
	if err != nil {
		return "", err
	}
	k, err := c.s.kr.Current(ctx, loc.Keyspace)
	if err != nil {
		return "", fmt.Errorf("gmfield/sqldriver: %s.%s: %w", p.Table, p.Column, err)
	}
	return k.ID(), nil
}

// Keyspace returns the keyspace whose DEKs seal p's values.
func (c *Codec) Keyspace(p Place) (string, error) {
	pc, err := c.col(p.Table, p.Column)
	if err != nil {
		return "", err
	}
	loc, err := c.s.place(WithTenant(context.Background(), p.Tenant), pc)
	return loc.Keyspace, err
}

// Declares reports whether keyspace is the keyspace of a protected column
// of the configuration (under key scope tenant, for some tenant).
func (c *Codec) Declares(keyspace string) bool {
	tenant := ""
	if c.s.scope == keyring.PerTenantColumn {
		rest, ok := strings.CutPrefix(keyspace, "tenant/")
		if !ok {
			return false
		}
		tenant, _, _ = strings.Cut(rest, "/")
	}
	for _, pc := range c.s.cols {
		if ks, err := c.Keyspace(Place{Table: pc.table, Column: pc.column, Tenant: tenant}); err == nil && ks == keyspace {
			return true
		}
	}
	return false
}

// Scope is the configuration's key scope.
func (c *Codec) Scope() keyring.Scope { return c.s.scope }

func (c *Codec) col(table, column string) (*protCol, error) {
	pc := c.s.col(strings.ToLower(table), strings.ToLower(column))
	if pc == nil {
		return nil, fmt.Errorf("%w: %s.%s is not a protected column", ErrInvalidConfig, table, column)
	}
	return pc, nil
}

// locate returns p's column and location, with its canonical row key.
func (c *Codec) locate(p Place) (*protCol, crypto.Location, error) {
	pc, err := c.col(p.Table, p.Column)
	if err != nil {
		return nil, crypto.Location{}, err
	}
	loc, err := c.s.place(WithTenant(context.Background(), p.Tenant), pc)
	if err != nil {
		return nil, loc, err
	}
	if c.s.cat.Table(pc.table).RowKey != "" {
		if loc.RowKey, err = pc.keyType.canonical(p.RowKey, false); err != nil {
			return nil, loc, fmt.Errorf("%w: %s.%s: row key: %v", ErrBadValue, pc.table, pc.column, err)
		}
	}
	return pc, loc, nil
}

// Bytes returns the bytes the driver seals and indexes for a value: its
// text for numbers, booleans and times (a plaintext column being
// migrated may hold numbers).
func (c *Codec) Bytes(v driver.Value) ([]byte, error) {
	b, _, err := valueBytes(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	return b, nil
}
