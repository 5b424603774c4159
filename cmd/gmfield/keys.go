package main

import (
	"bufio"
	"errors"
	"fmt"
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
	cmd := &cobra.Command{Use: "keyring", Short: "Create a local key directory"}
	var dir string
	var kek local.KEKConfig
	initCmd := &cobra.Command{
		Use:   "init --dir DIR --kek sm4|sm2|vault-transit|vault-kv",
		Short: "Create a key directory with a KEK and a blind-index root key",
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
				fmt.Fprintf(cmd.OutOrStdout(), "initialized %s with the %s KEK at %s\n", dir, c.KEK.Kind, c.KEK.Mount)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&dir, "dir", "", "key directory to create")
	initCmd.Flags().StringVar(&kek.Kind, "kek", "sm4", "KEK kind: sm4, sm2, vault-transit or vault-kv")
	initCmd.Flags().StringVar(&kek.Env, "master-key-env", "", "sm4: read the master key (hex) from this environment variable instead of a file")
	initCmd.Flags().StringVar(&kek.Mount, "vault-mount", "", "vault-transit, vault-kv: the engine's mount (transit: default \"transit\")")
	initCmd.Flags().StringVar(&kek.Key, "vault-key", "gmfield", "vault-transit: the Transit key name")
	initCmd.Flags().StringVar(&kek.Path, "vault-path", "gmfield/master", "vault-kv: the master key secret's path")
	cmd.AddCommand(initCmd)
	return cmd
}

func noArgs(_ *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usageError{fmt.Errorf("unexpected argument %q", args[0])}
	}
	return nil
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "List, rotate, rewrap and destroy data keys"}
	var dir string

	list := &cobra.Command{
		Use: "list --keyring DIR", Short: "List data keys", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := openKeyring(dir)
			if err != nil {
				return err
			}
			recs, err := k.List(cmd.Context())
			if err != nil {
				return err
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

	var table, column string
	rotate := &cobra.Command{
		Use: "rotate --keyring DIR [--table T --column C]", Short: "Start a new data key for one keyspace, or for every keyspace",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (table == "") != (column == "") {
				return usageError{errors.New("keys rotate: give both --table and --column, or neither")}
			}
			k, err := openKeyring(dir)
			if err != nil {
				return err
			}
			var spaces []string
			if table != "" {
				spaces = []string{keyring.ColumnKeyspace(table, column)}
			} else {
				recs, err := k.List(cmd.Context())
				if err != nil {
					return err
				}
				for _, r := range recs {
					// List is sorted by keyspace: one entry per keyspace, even
					// while a rotation elsewhere leaves two keys active.
					if r.State == keyring.StateActive && r.ID != keyring.IndexRootID &&
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
	rotate.Flags().StringVar(&table, "table", "", "table of the keyspace to rotate")
	rotate.Flags().StringVar(&column, "column", "", "column of the keyspace to rotate")

	var kind string
	rewrap := &cobra.Command{
		Use:   "rewrap --keyring DIR [--kek sm4|sm2]",
		Short: "Rotate the KEK and rewrap every data key under it, touching no data (Vault: rotate the Transit key or KV master key, then rewrap)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("--keyring is required (or set GMFIELD_KEYRING)")}
			}
			n, err := local.RotateKEK(cmd.Context(), dir, kind)
			if err != nil {
				return err
			}
			c, err := local.ReadConfig(dir)
			if err != nil {
				return err
			}
			where := c.KEK.File
			if where == "" {
				where = c.KEK.Mount
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rewrapped %d keys under the new %s KEK (%s)\n", n, c.KEK.Kind, where)
			return nil
		},
	}
	keyringFlag(rewrap, &dir)
	rewrap.Flags().StringVar(&kind, "kek", "", "kind of the new KEK: sm4 or sm2 (default: the current kind; Vault kinds rotate in Vault)")

	var yes bool
	destroy := &cobra.Command{
		Use:   "destroy --keyring DIR ID [--yes]",
		Short: "Destroy a data key: every value it sealed becomes unreadable, for good",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("keys destroy: give one key ID")}
			}
			id := args[0]
			k, err := openKeyring(dir)
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(cmd.ErrOrStderr(), "Destroying key %s makes every value it sealed unreadable, for good.\nType the key id to confirm: ", id)
				line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if strings.TrimSpace(line) != id {
					return errors.New("keys destroy: not confirmed; nothing destroyed")
				}
			}
			if err := k.Destroy(cmd.Context(), id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "destroyed %s\n", id)
			return nil
		},
	}
	keyringFlag(destroy, &dir)
	destroy.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")

	cmd.AddCommand(list, rotate, rewrap, destroy)
	return cmd
}

// fieldFlags are the flags of encrypt, decrypt and index.
type fieldFlags struct {
	dir, table, column, rowKey string
}

func (f *fieldFlags) add(cmd *cobra.Command, rowKey bool) {
	keyringFlag(cmd, &f.dir)
	cmd.Flags().StringVar(&f.table, "table", "", "table the value belongs to")
	cmd.Flags().StringVar(&f.column, "column", "", "column the value belongs to")
	if rowKey {
		cmd.Flags().StringVar(&f.rowKey, "row-key", "", "row key bound into the value, if the table declares one")
	}
}

func (f *fieldFlags) check(name string, args []string) error {
	if f.table == "" || f.column == "" {
		return usageError{fmt.Errorf("%s: --table and --column are required", name)}
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s: give one VALUE, or - to read lines from stdin", name)}
	}
	return nil
}

func (f *fieldFlags) loc() crypto.Location {
	return crypto.Location{Table: f.table, Column: f.column, RowKey: f.rowKey}
}

func newEncryptCmd() *cobra.Command {
	var f fieldFlags
	cmd := &cobra.Command{
		Use:   "encrypt --keyring DIR --table T --column C [--row-key K] VALUE|-",
		Short: "Seal a value as gmfield stores it (text form)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("encrypt", args); err != nil {
				return err
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			return eachValue(cmd.InOrStdin(), args[0], func(v string) error {
				key, err := k.Current(cmd.Context(), keyring.ColumnKeyspace(f.table, f.column))
				if err != nil {
					return err
				}
				out, err := key.SealText(nil, f.loc(), []byte(v))
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
		Use:   "decrypt --keyring DIR --table T --column C [--row-key K] TEXT|-",
		Short: "Open a stored value (text form) and print the plaintext",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("decrypt", args); err != nil {
				return err
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			return eachValue(cmd.InOrStdin(), args[0], func(v string) error {
				pt, err := crypto.OpenText(nil, k, f.loc(), []byte(v))
				if err != nil {
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
		Use:   "index --keyring DIR --table T --column C [--transform full] VALUE|-",
		Short: "Print the blind index of a value (hex)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("index", args); err != nil {
				return err
			}
			tr, err := crypto.ParseTransform(transform)
			if err != nil {
				return usageError{err}
			}
			k, err := openKeyring(f.dir)
			if err != nil {
				return err
			}
			root, err := k.IndexRoot(cmd.Context())
			if err != nil {
				return err
			}
			ix, err := root.Index(crypto.IndexSpec{Table: f.table, Column: f.column, Transform: tr, Size: size})
			if err != nil {
				return err
			}
			return eachValue(cmd.InOrStdin(), args[0], func(v string) error {
				out, err := ix.SumHex(nil, []byte(v))
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
