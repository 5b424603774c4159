package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/lifecycle"
)

// keyConfig ties keys list, rotate and destroy to a driver configuration:
// its key ring, and only the keyspaces its protected columns declare.
type keyConfig struct {
	path, dsn, dialect string
	cfg                *sqldriver.Config
	codec              *sqldriver.Codec
}

func (k *keyConfig) add(cmd *cobra.Command, dsn bool) {
	cmd.Flags().StringVar(&k.path, "config", "", "driver configuration: use its key ring, and refuse keyspaces it does not declare")
	if dsn {
		cmd.Flags().StringVar(&k.dsn, "dsn", "", "with --config: the database, to count the values that still use the key")
		cmd.Flags().StringVar(&k.dialect, "dialect", "", "with --dsn: sqlite, postgres or mysql (default: guessed)")
	}
}

// keyring returns the configuration's key ring, or the directory's.
func (k *keyConfig) keyring(cmd *cobra.Command, dir string) (*keyring.Keyring, error) {
	if k.path == "" {
		if k.dsn != "" {
			return nil, usageError{errors.New("--dsn needs --config")}
		}
		return openKeyring(dir)
	}
	if dir != "" {
		return nil, usageError{errors.New("give --config or --keyring, not both")}
	}
	var err error
	if k.cfg, err = loadConfig(cmd, k.path); err != nil {
		return nil, err
	}
	if k.codec, err = sqldriver.NewCodec(cmd.Context(), k.cfg); err != nil {
		return nil, err
	}
	return k.cfg.Keyring, nil
}

// keyspaces returns the keyspaces that p names under the configuration:
// one column's (--table, --column), or every declared column's (of
// --table, if given); under key scope tenant, --tenant's. A table or
// column the configuration does not declare is a usage error.
func (k *keyConfig) keyspaces(p placeFlags) ([]string, error) {
	if p.schema != "" || p.scope != "column" {
		return nil, usageError{errors.New("with --config, the schema and key scope come from the configuration")}
	}
	if k.codec.Scope() == keyring.PerTenantColumn && p.tenant == "" {
		return nil, usageError{errors.New("the configuration's key scope is tenant: give --tenant")}
	}
	if k.codec.Scope() != keyring.PerTenantColumn && p.tenant != "" {
		return nil, usageError{errors.New("--tenant: the configuration's key scope is not tenant")}
	}
	seen := map[string]bool{}
	var out []string
	found := false
	for _, t := range k.cfg.Tables {
		if p.table != "" && !strings.EqualFold(t.Name, p.table) {
			continue
		}
		for _, c := range t.Columns {
			if p.column != "" && !strings.EqualFold(c.Name, p.column) {
				continue
			}
			found = true
			ks, err := k.codec.Keyspace(sqldriver.Place{Table: t.Name, Column: c.Name, Tenant: p.tenant})
			if err != nil {
				return nil, usageError{err}
			}
			if !seen[ks] {
				seen[ks] = true
				out = append(out, ks)
			}
		}
	}
	if !found {
		what := p.table
		if p.column != "" {
			what += "." + p.column
		}
		return nil, usageError{fmt.Errorf("%s is not a protected column of %s", what, k.path)}
	}
	sort.Strings(out)
	return out, nil
}

// usage counts, per table, the values sealed under key id (with --dsn).
func (k *keyConfig) usage(cmd *cobra.Command, id string) (map[string]int64, error) {
	f := jobFlags{config: k.path, dsn: k.dsn, dialect: k.dialect, batch: 1000}
	s, err := f.open(cmd, true)
	if err != nil {
		return nil, err
	}
	defer s.close()
	out := map[string]int64{}
	for _, t := range s.tables {
		j := &lifecycle.Job{DB: s.db, Config: k.cfg, Dialect: s.dialect, Table: t}
		u, err := j.KeyUsage(cmd.Context())
		if err != nil {
			return nil, err
		}
		if u[id] > 0 {
			out[t] = u[id]
		}
	}
	return out, nil
}

// onlyKeyspaces keeps the records of the given keyspaces.
func onlyKeyspaces(recs []keyring.Record, spaces []string) []keyring.Record {
	want := map[string]bool{}
	for _, s := range spaces {
		want[s] = true
	}
	var out []keyring.Record
	for _, r := range recs {
		if want[r.Keyspace] {
			out = append(out, r)
		}
	}
	return out
}

// keyspacesOf returns the keyspaces of recs, each once, in order.
func keyspacesOf(recs []keyring.Record) []string {
	var out []string
	for _, r := range recs {
		if len(out) == 0 || out[len(out)-1] != r.Keyspace {
			out = append(out, r.Keyspace)
		}
	}
	return out
}

// warnDestroy checks key id before keys destroy: it must exist (and,
// with --config, lie in a declared keyspace); an active key is warned
// about, and with --dsn so is every table whose values still use it.
func (k *keyConfig) warnDestroy(cmd *cobra.Command, kr *keyring.Keyring, id string) error {
	recs, err := kr.List(cmd.Context())
	if err != nil {
		return err
	}
	var rec *keyring.Record
	for i := range recs {
		if recs[i].ID == id {
			rec = &recs[i]
		}
	}
	if rec == nil {
		return fmt.Errorf("keys destroy: %w: %s", keyring.ErrKeyNotFound, id)
	}
	if k.cfg != nil && !strings.HasPrefix(id, keyring.IndexRootID) && !k.codec.Declares(rec.Keyspace) {
		return usageError{fmt.Errorf("keys destroy: %s is a key of keyspace %s, which %s does not declare", id, rec.Keyspace, k.path)}
	}
	w := cmd.ErrOrStderr()
	if rec.State == keyring.StateActive {
		fmt.Fprintf(w, "gmfield: warning: %s is the active key of keyspace %s: its values become unreadable and the next write starts a new key (rotate and reencrypt first to keep them)\n", id, rec.Keyspace)
	}
	if k.dsn == "" {
		return nil
	}
	use, err := k.usage(cmd, id)
	if err != nil {
		return err
	}
	if len(use) == 0 {
		fmt.Fprintf(w, "gmfield: no value in the configured tables uses %s\n", id)
	}
	for _, t := range sortedKeys(use) {
		fmt.Fprintf(w, "gmfield: warning: %d values in table %s still use %s\n", use[t], t, id)
	}
	return nil
}
