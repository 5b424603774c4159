package config

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/audit"
	"github.com/gmfield/gmfield/crypto"
)

// decodeAudit reads the audit: section (docs/config.md): the log's store
// (dir, or table with driver and dsn_env), its signing key, mode and
// checkpoints, and whether events also go to slog. The log is opened at
// the first statement, so that tools that only read the configuration
// (gmfield plan, keys) do not take the writer's lock.
func decodeAudit(n *yaml.Node, dir, dialect string) (audit.Sink, string, error) {
	var (
		opt                        audit.Options
		logDir, table, drv, dsnEnv string
		keyPath, instance          string
		toSlog                     bool
	)
	opt.Logger = slog.Default()
	err := pairs(n, func(k, v *yaml.Node) error {
		switch k.Value {
		case "dir":
			logDir = v.Value
		case "table":
			table = v.Value
		case "driver":
			drv = v.Value
		case "dsn_env":
			dsnEnv = v.Value
		case "dialect":
			dialect = v.Value
		case "key":
			keyPath = v.Value
		case "origin":
			opt.Origin = v.Value
		case "instance":
			instance = v.Value
		case "mode":
			switch v.Value {
			case "sync":
				opt.Mode = audit.Sync
			case "async":
				opt.Mode = audit.Async
			default:
				return lineErr(v, "audit mode must be sync or async")
			}
		case "queue", "batch":
			x, err := strconv.Atoi(v.Value)
			if err != nil || x < 1 {
				return lineErr(v, "audit "+k.Value+" must be a positive number")
			}
			if k.Value == "queue" {
				opt.Queue = x
			} else {
				opt.Batch = x
			}
		case "checkpoint_every":
			d, err := time.ParseDuration(v.Value)
			if err != nil || d <= 0 {
				return lineErr(v, "checkpoint_every must be a duration such as 10s")
			}
			opt.CheckpointEvery = d
		case "slog":
			b, err := strconv.ParseBool(v.Value)
			if err != nil {
				return lineErr(v, "audit slog must be true or false")
			}
			toSlog = b
		default:
			return lineErr(k, fmt.Sprintf("unknown key %q (dir, table, driver, dsn_env, dialect, key, origin, instance, mode, queue, batch, checkpoint_every, slog)", k.Value))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if (logDir == "") == (table == "") {
		return nil, "", lineErr(n, "audit needs one of dir or table")
	}
	if table != "" && (drv == "" || dsnEnv == "") {
		return nil, "", lineErr(n, "an audit table needs driver (a registered database/sql driver) and dsn_env (the variable holding its DSN)")
	}
	if keyPath == "" {
		return nil, "", lineErr(n, "audit needs key: the SM2 private key that signs checkpoints (gmfield audit keygen)")
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	pem, err := os.ReadFile(abs(keyPath))
	if err != nil {
		return nil, "", &Error{Line: n.Line, Msg: "audit key: " + err.Error(), Err: err}
	}
	if opt.Key, err = crypto.ParseSM2PrivateKeyPEM(pem); err != nil {
		return nil, "", &Error{Line: n.Line, Msg: "audit key: " + err.Error(), Err: err}
	}
	if _, err := audit.NewSigner(orDefault(opt.Origin), opt.Key); err != nil {
		return nil, "", &Error{Line: n.Line, Msg: err.Error(), Err: err}
	}
	open := func(ctx context.Context) (logHandle, error) {
		if logDir != "" {
			return audit.OpenDir(ctx, abs(logDir), opt)
		}
		dsn := os.Getenv(dsnEnv)
		if dsn == "" {
			return nil, fmt.Errorf("%w: $%s is empty", audit.ErrUnavailable, dsnEnv)
		}
		db, err := sql.Open(drv, dsn)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", audit.ErrUnavailable, err)
		}
		lg, err := audit.OpenTable(ctx, audit.Table{DB: db, Dialect: dialect, Name: table}, opt)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		return &ownedLog{Log: lg, db: db}, nil
	}
	var sink audit.Sink = &lazyLog{open: open}
	if toSlog {
		sink = audit.Fanout{sink, audit.SlogSink{Logger: slog.Default()}}
	}
	return sink, instance, nil
}

func orDefault(origin string) string {
	if origin == "" {
		return audit.DefaultOrigin
	}
	return origin
}

// ownedLog is a table log with the handle opened for it.
type ownedLog struct {
	*audit.Log
	db *sql.DB
}

func (o *ownedLog) Close() error { return errors.Join(o.Log.Close(), o.db.Close()) }

// logHandle is what lazyLog opens: a log, and what closes it.
type logHandle interface {
	audit.Sink
	audit.Gate
	Close() error
}

// lazyLog opens its log on first use; an open that fails is tried again
// at the next statement, which fails meanwhile.
type lazyLog struct {
	open func(context.Context) (logHandle, error)
	mu   sync.Mutex
	log  logHandle
}

func (l *lazyLog) get() (logHandle, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log == nil {
		lg, err := l.open(context.Background())
		if err != nil {
			return nil, err
		}
		l.log = lg
	}
	return l.log, nil
}

func (l *lazyLog) Reserve() error {
	lg, err := l.get()
	if err != nil {
		return err
	}
	return lg.Reserve()
}

func (l *lazyLog) Release() {
	l.mu.Lock()
	lg := l.log
	l.mu.Unlock()
	if lg != nil {
		lg.Release()
	}
}

func (l *lazyLog) Record(ctx context.Context, e *audit.Event) error {
	lg, err := l.get()
	if err != nil {
		return err
	}
	return lg.Record(ctx, e)
}

func (l *lazyLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.log == nil {
		return nil
	}
	return l.log.Close()
}
