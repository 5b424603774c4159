package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/keyring"
	"github.com/gmfield/gmfield/keyring/local"
	"github.com/spf13/cobra"
)

// keyringFlag adds --keyring (default $GMFIELD_KEYRING) to cmd.
func keyringFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "keyring", os.Getenv("GMFIELD_KEYRING"), "key directory (default $GMFIELD_KEYRING)")
}

func openKeyring(dir string) (*keyring.Keyring, error) {
	if dir == "" {
		return nil, usageError{errors.New("--keyring is required (or set GMFIELD_KEYRING)")}
	}
	return local.Open(dir)
}

func newKeyringCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keyring",
		Short:   "Create a local key directory",
		Example: `  gmfield keyring init --dir ./keys --kek sm4`,
	}
	var dir string
	var kek local.KEKConfig
	initCmd := &cobra.Command{
		Use:   "init --dir DIR --kek sm4|sm2|vault-transit|vault-kv",
		Short: "Create a key directory with a KEK and a blind-index root key",
		Example: `  gmfield keyring init --dir ./keys --kek sm4
  gmfield keyring init --dir ./keys --kek sm4 --master-key-env GMFIELD_MASTER_KEY
  VAULT_ADDR=https://vault:8200 gmfield keyring init --dir ./keys --kek vault-transit --vault-key gmfield`,
		Long: `Creates a key directory. sm4 and sm2 generate the KEK into the directory (or
read an SM4 master key from the environment variable named by --master-key-env).
vault-transit uses the Transit key --vault-key at --vault-mount, vault-kv the master
key secret --vault-path in the KV v2 engine at --vault-mount; both reach Vault through
the standard environment (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, ...)
and log in with AppRole when GMFIELD_VAULT_ROLE_ID and GMFIELD_VAULT_SECRET_ID are set.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("keyring init: --dir is required")}
			}
			if _, err := local.Init(cmd.Context(), dir, kek); err != nil {
				return err
			}
			c, err := local.ReadConfig(dir)
			if err != nil {
				return err
			}
			switch {
			case c.KEK.File != "":
				fmt.Fprintf(cmd.OutOrStdout(), "initialized %s with an %s KEK in %s\n", dir, c.KEK.Kind, c.KEK.File)
				fmt.Fprintf(cmd.ErrOrStderr(), "gmfield: keep a copy of %s apart from the database and its backups: without it no value can be read\n", c.KEK.File)
			case c.KEK.Env != "":
				fmt.Fprintf(cmd.OutOrStdout(), "initialized %s with the SM4 master key in $%s\n", dir, c.KEK.Env)
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "initialized %s with the %s KEK at %s\n", dir, c.KEK.Kind, kekMount(c.KEK))
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", "", "key directory to create")
	initCmd.Flags().StringVar((*string)(&kek.Kind), "kek", "sm4", "KEK kind: sm4, sm2, vault-transit or vault-kv")
	initCmd.Flags().StringVar(&kek.Env, "master-key-env", "", "sm4: read the master key (hex) from this environment variable instead of a file")
	initCmd.Flags().StringVar(&kek.Mount, "vault-mount", "", "vault-transit, vault-kv: the engine's mount (transit: default \"transit\")")
	initCmd.Flags().StringVar(&kek.Key, "vault-key", "gmfield", "vault-transit: the Transit key name")
	initCmd.Flags().StringVar(&kek.Path, "vault-path", "gmfield/master", "vault-kv: the master key secret's path")
	cmd.AddCommand(initCmd)
	return cmd
}

// kekMount is the mount of a Vault KEK, as the provider resolves it: a
// vault-transit KEK with no mount is at "transit".
func kekMount(kc local.KEKConfig) string {
	if kc.Kind == local.KindVaultTransit && kc.Mount == "" {
		return "transit"
	}
	return kc.Mount
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate, rewrap and destroy data keys",
		Example: `  gmfield keys list --keyring ./keys
  gmfield keys rotate --config gmfield.yaml --table citizen`,
	}
	var dir string

	var listCfg keyConfig
	var listPlace placeFlags
	list := &cobra.Command{
		Use: "list (--keyring DIR | --config FILE [--table T [--column C]] [--tenant T])", Short: "List data keys", Args: noArgs,
		Example: `  gmfield keys list --keyring ./keys
  gmfield keys list --config gmfield.yaml --table citizen --column phone`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := listCfg.keyring(cmd, dir)
			if err != nil {
				return err
			}
			recs, err := k.List(cmd.Context())
			if err != nil {
				return err
			}
			if listCfg.cfg != nil {
				// Under key scope tenant without --tenant: every tenant's keys.
				if listCfg.codec.Scope() != keyring.PerTenantColumn || listPlace.tenant != "" || listPlace.table != "" {
					spaces, err := listCfg.keyspaces(listPlace)
					if err != nil {
						return err
					}
					recs = onlyKeyspaces(recs, spaces)
				}
			} else if listPlace.table != "" || listPlace.tenant != "" {
				return usageError{errors.New("keys list: --table, --column and --tenant need --config")}
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKEYSPACE\tSTATE\tCREATED\tKEK\tSEALS")
			for _, r := range recs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", r.ID, r.Keyspace, r.State, r.Created.Format("2006-01-02 15:04:05Z07:00"), r.KEK, r.Seals)
			}
			return w.Flush()
		},
	}
	keyringFlag(list, &dir)
	listCfg.add(list, false)
	list.Flags().StringVar(&listPlace.table, "table", "", "with --config: only this table's keys")
	list.Flags().StringVar(&listPlace.column, "column", "", "with --config: only this column's keys")
	list.Flags().StringVar(&listPlace.tenant, "tenant", "", "with --config: only this tenant's keys (key scope tenant)")
	listPlace.scope = "column"

	var place placeFlags
	var rotCfg keyConfig
	rotate := &cobra.Command{
		Use: "rotate (--config FILE [--table T [--column C]] [--tenant ID] | --keyring DIR [--table T --column C [--schema S] [--scope column|table|tenant --tenant ID]])", Short: "Start a new data key for one keyspace, or for every keyspace",
		Example: `  gmfield keys rotate --config gmfield.yaml --table citizen --column phone
  gmfield keys rotate --config gmfield.yaml --tenant acme
  gmfield keys rotate --keyring ./keys`,
		Long: `Starts a new active data key in the keyspace of --table and --column (or, with
--config, in every keyspace the configuration declares, or those of --table). With
--config the keyspace is the configuration's (its schema and key scope) and a table or
column it does not declare is refused. With --keyring alone only a keyspace that
already has a key can be rotated: a typo cannot start a new one.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rotCfg.path == "" && (place.table == "") != (place.column == "") {
				return usageError{errors.New("keys rotate: give both --table and --column, or neither")}
			}
			k, err := rotCfg.keyring(cmd, dir)
			if err != nil {
				return err
			}
			var spaces []string
			switch {
			case rotCfg.cfg != nil:
				if spaces, err = rotCfg.keyspaces(place); err != nil {
					return err
				}
				// A tenant is not declared by the configuration: a tenant
				// with no key yet is a typo (its first write makes its keys).
				if rotCfg.codec.Scope() == keyring.PerTenantColumn {
					recs, err := k.List(cmd.Context())
					if err != nil {
						return err
					}
					if len(onlyKeyspaces(recs, spaces)) == 0 {
						return usageError{fmt.Errorf("keys rotate: tenant %s has no keys yet (a typo?); its first write creates them", place.tenant)}
					}
					spaces = keyspacesOf(onlyKeyspaces(recs, spaces))
				}
			case place.table != "":
				loc, err := place.locate(crypto.Location{})
				if err != nil {
					return err
				}
				recs, err := k.List(cmd.Context())
				if err != nil {
					return err
				}
				if len(onlyKeyspaces(recs, []string{loc.Keyspace})) == 0 {
					return usageError{fmt.Errorf("keys rotate: keyspace %s has no key yet (a typo?); to start one, name the column in a configuration and use --config", loc.Keyspace)}
				}
				spaces = []string{loc.Keyspace}
			default:
				recs, err := k.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, r := range recs {
					// List is sorted by keyspace: one entry per keyspace, even
					// while a rotation elsewhere leaves two keys active. The
					// blind-index roots are not DEKs.
					if r.State == keyring.StateActive && keyring.ValidateKeyspace(r.Keyspace) == nil &&
						(len(spaces) == 0 || spaces[len(spaces)-1] != r.Keyspace) {
						spaces = append(spaces, r.Keyspace)
					}
				}
			}
			for _, ks := range spaces {
				rec, err := k.Rotate(cmd.Context(), ks)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: new active key %s\n", ks, rec.ID)
			}
			return nil
		},
	}
	keyringFlag(rotate, &dir)
	place.add(rotate)
	rotCfg.add(rotate, false)

	var kind string
	rewrap := &cobra.Command{
		Use:   "rewrap --keyring DIR [--kek sm4|sm2]",
		Short: "Rotate the KEK and rewrap every data key under it, touching no data (Vault: rotate the Transit key or KV master key, then rewrap)",
		Example: `  gmfield keys rewrap --keyring ./keys
  gmfield keys rewrap --keyring ./keys --kek sm2`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("--keyring is required (or set GMFIELD_KEYRING)")}
			}
			n, err := local.RotateKEK(cmd.Context(), dir, local.KEKKind(kind))
			if err != nil {
				return err
			}
			c, err := local.ReadConfig(dir)
			if err != nil {
				return err
			}
			where := c.KEK.File
			if where == "" {
				where = kekMount(c.KEK)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rewrapped %d keys under the new %s KEK (%s)\n", n, c.KEK.Kind, where)
			return nil
		},
	}
	keyringFlag(rewrap, &dir)
	rewrap.Flags().StringVar(&kind, "kek", "", "kind of the new KEK: sm4 or sm2 (default: the current kind; Vault kinds rotate in Vault)")

	var (
		yes    bool
		tenant string
		dcfg   keyConfig
	)
	destroy := &cobra.Command{
		Use:   "destroy --keyring DIR (ID | --tenant T) [--yes]",
		Short: "Destroy a data key, or every key of a tenant: every value it sealed becomes unreadable, for good",
		Example: `  gmfield keys destroy --keyring ./keys k7f0ee3826b15771c
  gmfield keys destroy --config gmfield.yaml --dsn ./app.db k7f0ee3826b15771c
  gmfield keys destroy --keyring ./keys --tenant acme --yes`,
		Long: `Destroys the data key ID, or with --tenant every data key of that tenant (key scope
tenant) and the tenant's blind-index roots, so that its rows can no longer be found by
equality search either. Destroying the last key of a tenant keyspace destroys that
keyspace's blind-index root too. Asks to type the id (or tenant) again unless --yes.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (tenant != "") || len(args) > 1 {
				return usageError{errors.New("keys destroy: give one key ID, or --tenant")}
			}
			what := tenant
			if len(args) == 1 {
				what = args[0]
			}
			k, err := dcfg.keyring(cmd, dir)
			if err != nil {
				return err
			}
			if tenant == "" {
				if err := dcfg.warnDestroy(cmd, k, what); err != nil {
					return err
				}
			}
			if !yes {
				if err := confirm(cmd, what, "Destroying "+what+" makes every value it sealed unreadable, for good."); err != nil {
					return fmt.Errorf("keys destroy: %w; nothing destroyed", err)
				}
			}
			if tenant != "" {
				ids, err := k.DestroyTenant(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				for _, id := range ids {
					fmt.Fprintf(cmd.OutOrStdout(), "destroyed %s\n", id)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: %d keys destroyed\n", tenant, len(ids))
				return nil
			}
			if err := k.Destroy(cmd.Context(), what); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "destroyed %s\n", what)
			return nil
		},
	}
	destroy.Flags().StringVar(&tenant, "tenant", "", "destroy every key of this tenant (key scope tenant)")
	keyringFlag(destroy, &dir)
	dcfg.add(destroy, true)
	destroy.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")

	renew := &cobra.Command{
		Use:   "renew-index-root --keyring DIR",
		Short: "Start a new blind-index root after the deployment's was destroyed (every index column must then be re-indexed)",
		Example: `  gmfield keys destroy --keyring ./keys --yes index-root
  gmfield keys renew-index-root --keyring ./keys`,
		Long: `After "keys destroy index-root" no blind index of the column and table scopes can be
computed: searches fail and nothing makes a new root behind your back. renew-index-root
starts the next generation of the root on purpose. Index columns written before it match
nothing under the new root: recompute them. Refused while the root is live.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := openKeyring(dir)
			if err != nil {
				return err
			}
			id, err := k.RenewIndexRoot(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new blind-index root %s\n", id)
			fmt.Fprintln(cmd.ErrOrStderr(), "gmfield: index columns written before it match nothing now: re-index them")
			return nil
		},
	}
	keyringFlag(renew, &dir)

	cmd.AddCommand(list, rotate, rewrap, destroy, renew)
	return cmd
}

// placeFlags name where values live, and so their keyspace: the flags
// of encrypt, decrypt, index and keys rotate.
type placeFlags struct {
	schema, table, column string
	scope, tenant         string
}

func (p *placeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.table, "table", "", "table the value belongs to")
	cmd.Flags().StringVar(&p.column, "column", "", "column the value belongs to")
	cmd.Flags().StringVar(&p.schema, "schema", "", "schema (or database) the table declares, if any")
	cmd.Flags().StringVar(&p.scope, "scope", "column", "key scope of the deployment: column, table or tenant")
	cmd.Flags().StringVar(&p.tenant, "tenant", "", "tenant of the value (key scope tenant)")
}

// locate returns loc placed at the flags' schema, table and column, with
// the keyspace they map to under the scope.
func (p *placeFlags) locate(loc crypto.Location) (crypto.Location, error) {
	scope, err := keyring.ParseScope(p.scope)
	if err != nil {
		return loc, usageError{err}
	}
	loc.Schema, loc.Table, loc.Column = p.schema, p.table, p.column
	loc, err = scope.Locate(p.tenant, loc)
	if err != nil {
		return loc, usageError{err}
	}
	return loc, nil
}

// fieldFlags are the flags of encrypt, decrypt and index.
type fieldFlags struct {
	placeFlags
	dir, rowKey string
	raw         bool
}

func (f *fieldFlags) add(cmd *cobra.Command, rowKey bool) {
	keyringFlag(cmd, &f.dir)
	f.placeFlags.add(cmd)
	if rowKey {
		cmd.Flags().StringVar(&f.rowKey, "row-key", "", "row key bound into the value, if the table declares one (in its canonical text: 12, not 0012)")
	}
	cmd.Flags().BoolVar(&f.raw, "raw", false, "with VALUE -, the whole of standard input is one value (newlines included)")
}

func (f *fieldFlags) check(name string, args []string) error {
	if f.table == "" || f.column == "" {
		return usageError{fmt.Errorf("%s: --table and --column are required", name)}
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s: give one VALUE, or - to read lines from stdin", name)}
	}
	if f.raw && args[0] != "-" {
		return usageError{fmt.Errorf("%s: --raw reads the value from stdin: give - as VALUE", name)}
	}
	return nil
}

func (f *fieldFlags) loc() (crypto.Location, error) {
	return f.locate(crypto.Location{RowKey: f.rowKey})
}

// values calls fn with each value: VALUE itself, each line of stdin for
// "-", or with --raw the whole of stdin; at most limit bytes each.
func (f *fieldFlags) values(cmd *cobra.Command, arg string, limit int, fn func([]byte) error) error {
	if !f.raw {
		return eachValue(cmd.InOrStdin(), arg, limit, func(s string) error { return fn([]byte(s)) })
	}
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), int64(limit)+1))
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	if len(b) > limit {
		return fmt.Errorf("%w: stdin holds more than %d bytes", crypto.ErrTooLarge, limit)
	}
	return fn(b)
}

// maxText is the longest text form of an envelope.
var maxText = crypto.TextLen(crypto.MaxKeyIDLen, crypto.MaxPlaintextSize)

func newEncryptCmd() *cobra.Command {
	var f fieldFlags
	cmd := &cobra.Command{
		Use:   "encrypt --keyring DIR --table T --column C [--schema S] [--row-key K] [--scope S --tenant T] VALUE|-",
		Short: "Seal a value as gmfield stores it (text form)",
		Example: `  gmfield encrypt --keyring ./keys --table citizen --column phone 13800138000
  gmfield encrypt --keyring ./keys --table doc --column body --raw - < letter.txt`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("encrypt", args); err != nil {
				return err
			}
			loc, err := f.loc()
			if err != nil {
				return err
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			return f.values(cmd, args[0], crypto.MaxPlaintextSize, func(v []byte) error {
				key, err := k.Current(cmd.Context(), loc.Keyspace)
				if err != nil {
					return err
				}
				out, err := key.SealText(nil, loc, v)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return err
			})
		},
	}
	f.add(cmd, true)
	return cmd
}

func newDecryptCmd() *cobra.Command {
	var f fieldFlags
	cmd := &cobra.Command{
		Use:   "decrypt --keyring DIR --table T --column C [--schema S] [--row-key K] [--scope S --tenant T] TEXT|-",
		Short: "Open a stored value (text form) and print the plaintext",
		Example: `  gmfield decrypt --keyring ./keys --table citizen --column phone 'gmf2:…'
  gmfield decrypt --keyring ./keys --table citizen --column phone --row-key 42 - < sealed.txt`,
		Long: `Opens a stored value at the place the flags name. A value whose data key belongs
to another keyspace than that place's is refused (key belongs to another keyspace), as
is a value moved from another table, column, row or schema (authentication failed).
With --raw the plaintext is written exactly, with no newline added.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("decrypt", args); err != nil {
				return err
			}
			loc, err := f.loc()
			if err != nil {
				return err
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			return f.values(cmd, args[0], maxText+2, func(v []byte) error {
				if f.raw {
					v = bytes.TrimSuffix(bytes.TrimSuffix(v, []byte("\n")), []byte("\r"))
				}
				pt, err := crypto.OpenText(nil, k, loc, v)
				if err != nil {
					return err
				}
				if f.raw {
					_, err = cmd.OutOrStdout().Write(pt)
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(pt))
				return err
			})
		},
	}
	f.add(cmd, true)
	return cmd
}

func newIndexCmd() *cobra.Command {
	var (
		f         fieldFlags
		transform string
		size      int
	)
	cmd := &cobra.Command{
		Use:   "index --keyring DIR --table T --column C [--transform full] [--scope S --tenant T] VALUE|-",
		Short: "Print the blind index of a value (hex)",
		Example: `  gmfield index --keyring ./keys --table citizen --column phone 13800138000
  gmfield index --keyring ./keys --table citizen --column phone --transform digits 138-0013-8000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("index", args); err != nil {
				return err
			}
			tr, err := crypto.ParseTransform(transform)
			if err != nil {
				return usageError{err}
			}
			loc, err := f.loc()
			if err != nil {
				return err
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			root, err := k.IndexRootFor(cmd.Context(), loc.Keyspace)
			if err != nil {
				return err
			}
			ix, err := root.Index(crypto.IndexSpec{Table: f.table, Column: f.column, Transform: tr, Size: size})
			if err != nil {
				return err
			}
			return f.values(cmd, args[0], crypto.MaxPlaintextSize, func(v []byte) error {
				out, err := ix.SumHex(nil, v)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return err
			})
		},
	}
	f.add(cmd, false)
	cmd.Flags().StringVar(&transform, "transform", "full", "index transform: full, lower, upper, digits, last4")
	cmd.Flags().IntVar(&size, "size", 0, "index length in bytes (default 16)")
	return cmd
}

// confirm asks to type what again, after saying what will happen.
func confirm(cmd *cobra.Command, what, consequence string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s\nType %q to confirm: ", consequence, what)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if strings.TrimSpace(line) != what {
		return errors.New("not confirmed")
	}
	return nil
}
