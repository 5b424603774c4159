package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gmfield/gmfield/internal/atomicfile"
)

// OpenDir opens (or creates) the log kept in directory dir
// (docs/format.md §9.4). One process writes a directory at a time: a
// second OpenDir of the same directory fails while the first is open.
func OpenDir(ctx context.Context, dir string, opt Options) (*Log, error) {
	st, err := openDirStore(dir)
	if err != nil {
		return nil, err
	}
	return newLog(ctx, st, opt)
}

// DirSource reads the log in directory dir, for Verify, Prove and Query.
func DirSource(dir string) Source { return &dirStore{dir: dir} }

type dirStore struct {
	dir  string
	f    *os.File // log.jsonl, for appending
	lock io.Closer
	off  int64  // end of the last whole leaf
	n    uint64 // leaves before off
	buf  []byte
}

type dirHead struct {
	Size   uint64   `json:"size"`
	Offset int64    `json:"offset"`
	Hashes []string `json:"hashes"`
}

func openDirStore(dir string) (*dirStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o700); err != nil {
		return nil, fmt.Errorf("gmfield/audit: %w", err)
	}
	lock, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "log.jsonl"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("gmfield/audit: %w", err)
	}
	return &dirStore{dir: dir, f: f, lock: lock}, nil
}

func (d *dirStore) cpPath(size uint64) string {
	return filepath.Join(d.dir, "checkpoints", fmt.Sprintf("%020d.note", size))
}

// tail reads the leaves from the writer's position (the start, when it
// opens); a last line without its
// newline was never acknowledged and is cut off.
func (d *dirStore) tail(_ context.Context, from uint64, fn func(uint64, []byte) error) error {
	if from != d.n {
		return fmt.Errorf("%w: resume at %d, the file is at %d", ErrCorrupt, from, d.n)
	}
	if _, err := d.f.Seek(d.off, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(d.f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				if err := d.f.Truncate(d.off); err != nil {
					return fmt.Errorf("gmfield/audit: cutting a partial leaf: %w", err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("gmfield/audit: %w", err)
		}
		if err := fn(d.n, line[:len(line)-1]); err != nil {
			return err
		}
		d.off += int64(len(line))
		d.n++
	}
}

func (d *dirStore) append(_ context.Context, start uint64, leaves [][]byte) error {
	if start != d.n {
		return fmt.Errorf("%w: append at %d, the file is at %d", ErrCorrupt, start, d.n)
	}
	d.buf = d.buf[:0]
	for _, lf := range leaves {
		if bytes.IndexByte(lf, '\n') >= 0 {
			return fmt.Errorf("%w: a leaf holds a newline", ErrInvalid)
		}
		d.buf = append(append(d.buf, lf...), '\n')
	}
	_, err := d.f.WriteAt(d.buf, d.off)
	if err == nil {
		err = d.f.Sync()
	}
	if err != nil {
		// Nothing of this batch counts: cut it off again.
		if terr := d.f.Truncate(d.off); terr != nil {
			return errors.Join(err, terr)
		}
		return fmt.Errorf("gmfield/audit: %w", err)
	}
	d.off += int64(len(d.buf))
	d.n += uint64(len(leaves))
	return nil
}

func (d *dirStore) checkpoint(_ context.Context, size uint64, note []byte, hashes [][]byte) error {
	if size != d.n {
		return fmt.Errorf("%w: checkpoint of %d, the file is at %d", ErrCorrupt, size, d.n)
	}
	if err := atomicfile.Write(d.cpPath(size), note, 0o600); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(d.dir, "checkpoint"), note, 0o644); err != nil {
		return err
	}
	h := dirHead{Size: size, Offset: d.off, Hashes: make([]string, len(hashes))}
	for i, x := range hashes {
		h.Hashes[i] = hex.EncodeToString(x)
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(d.dir, "head.json"), raw, 0o600)
}

func (d *dirStore) close() error {
	var err error
	if d.f != nil {
		err = d.f.Close()
	}
	if d.lock != nil {
		err = errors.Join(err, d.lock.Close())
	}
	return err
}

// Leaves implements Source: line k of log.jsonl is leaf k.
func (d *dirStore) Leaves(_ context.Context, fn func(uint64, []byte) error) error {
	f, err := os.Open(filepath.Join(d.dir, "log.jsonl"))
	if err != nil {
		return fmt.Errorf("gmfield/audit: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	for k := uint64(0); ; k++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A last line without its newline is a write that was never
			// acknowledged (the writer cuts it off when it opens): not a
			// leaf. Were it a leaf a checkpoint signs, the log reads as
			// truncated.
			return nil
		}
		if err != nil {
			return fmt.Errorf("gmfield/audit: %w", err)
		}
		if err := fn(k, line[:len(line)-1]); err != nil {
			return err
		}
	}
}

// Checkpoints implements Source: the files of checkpoints/.
func (d *dirStore) Checkpoints(context.Context) ([][]byte, error) {
	names, err := filepath.Glob(filepath.Join(d.dir, "checkpoints", "*.note"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out [][]byte
	for _, n := range names {
		if strings.HasPrefix(filepath.Base(n), ".") {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("gmfield/audit: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}
