package keyring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/internal/atomicfile"
)

// Dir is a Store in a local directory, the embedded default: one JSON file
// per DEK in DIR/keys/ID.json (docs/format.md §8), written atomically
// (temporary file, fsync, rename, fsync of the directory) with mode 0600.
// Updates are serialized across processes with a lock file (flock on
// Unix). A file that does not parse as a complete record is reported as
// ErrCorrupt, never skipped.
type Dir struct {
	path string
	mu   sync.Mutex
}

// OpenDir opens (creating if needed, mode 0700) the key directory at path.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(path, "keys"), 0o700); err != nil {
		return nil, fmt.Errorf("gmfield/keyring: key directory: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// file returns the path of record id: keys/ID.json. Ids are lower case,
// start with a letter or digit and hold no ":" (docs/format.md §8.4), so
// they are portable file names that no two records share, even on a
// case-insensitive file system.
func (d *Dir) file(id string) (string, error) {
	if err := validRecordID(id); err != nil {
		return "", err
	}
	if strings.ContainsRune(id, ':') {
		return "", fmt.Errorf("%w: key id %q: a key directory takes no \":\" in ids", crypto.ErrInvalidKey, id)
	}
	return filepath.Join(d.path, "keys", id+".json"), nil
}

// Create stores a new record.
func (d *Dir) Create(_ context.Context, r Record) error {
	return d.locked(func() error {
		name, err := d.file(r.ID)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(name); err == nil {
			return fmt.Errorf("key %s: %w", r.ID, ErrExists)
		}
		r.Rev = 1
		if err := r.Validate(r.ID); err != nil {
			return err // never store what would not read back
		}
		return d.write(name, r)
	})
}

// Update replaces a record if its stored revision equals r.Rev.
func (d *Dir) Update(_ context.Context, r Record) error {
	return d.locked(func() error {
		name, err := d.file(r.ID)
		if err != nil {
			return err
		}
		cur, err := d.read(name, r.ID)
		if err != nil {
			return err
		}
		if cur.Rev != r.Rev {
			return fmt.Errorf("key %s: stored revision %d, have %d: %w", r.ID, cur.Rev, r.Rev, ErrConflict)
		}
		r.Rev++
		if err := r.Validate(r.ID); err != nil {
			return err
		}
		return d.write(name, r)
	})
}

// Get returns the record id.
func (d *Dir) Get(_ context.Context, id string) (Record, error) {
	name, err := d.file(id)
	if err != nil {
		return Record{}, fmt.Errorf("key %q: %w", id, ErrKeyNotFound)
	}
	return d.read(name, id)
}

// List returns every record; one unreadable file fails the whole list.
func (d *Dir) List(_ context.Context) ([]Record, error) {
	entries, err := os.ReadDir(filepath.Join(d.path, "keys"))
	if err != nil {
		return nil, fmt.Errorf("gmfield/keyring: key directory: %w", err)
	}
	var recs []Record
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".tmp-") {
			continue // an interrupted write; the record it replaced is intact
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !e.Type().IsRegular() || validRecordID(id) != nil {
			return nil, fmt.Errorf("%w: unexpected file keys/%s", ErrCorrupt, name)
		}
		r, err := d.read(filepath.Join(d.path, "keys", name), id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

func (d *Dir) read(name, id string) (Record, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, fmt.Errorf("key %s: %w", id, ErrKeyNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("key %s: %w", id, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil || dec.More() {
		return Record{}, fmt.Errorf("%w: keys/%s.json does not parse", ErrCorrupt, id)
	}
	if err := r.Validate(id); err != nil {
		return Record{}, err
	}
	return r, nil
}

// write stores r at name atomically with mode 0600.
func (d *Dir) write(name string, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(name, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("gmfield/keyring: key directory: %w", err)
	}
	return nil
}

// locked runs f holding the in-process mutex and the directory's lock file.
func (d *Dir) locked(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	unlock, err := lockFile(filepath.Join(d.path, ".lock"))
	if err != nil {
		return fmt.Errorf("gmfield/keyring: locking the key directory: %w", err)
	}
	defer unlock()
	return f()
}
