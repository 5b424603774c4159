package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/masking"
	"github.com/spf13/cobra"
)

func newMaskCmd() *cobra.Command {
	var (
		typ    string
		params []string
		keyHex string
		list   bool
	)
	cmd := &cobra.Command{
		Use:   "mask --type NAME [--param k=v ...] VALUE|-",
		Short: "Preview a masking function on a value, or on each line of stdin (VALUE -)",
		Example: `  gmfield mask --type id_card 11010519491231002X
  gmfield mask --type date --param to=month 1990-03-07
  gmfield mask --type keep_first_last --param first=2 --param last=2 - < names.txt
  gmfield mask --list`,
		Long: `Prints the masked form of VALUE under the masking function NAME. With VALUE "-",
masks each line of standard input. The keyed functions (hash, pseudonym) take their
key as hex from --key-hex or the GMFIELD_MASK_KEY environment variable.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				for _, name := range masking.Functions() {
					fmt.Fprintln(cmd.OutOrStdout(), masking.Describe(name))
				}
				return nil
			}
			if typ == "" {
				return usageError{errors.New("mask: --type is required (see --list)")}
			}
			if len(args) != 1 {
				return usageError{errors.New("mask: give one VALUE, or - to read lines from stdin")}
			}
			p, err := parseParams("mask: --param", params)
			if err != nil {
				return err
			}
			if keyHex == "" {
				keyHex = os.Getenv("GMFIELD_MASK_KEY")
			}
			opts, err := maskKey("mask", keyHex)
			if err != nil {
				return err
			}
			rule, err := masking.NewRule(typ, p, opts...)
			if err != nil {
				return err
			}
			return eachValue(cmd.InOrStdin(), args[0], crypto.MaxPlaintextSize, func(v string) error {
				if rule.Null() {
					_, err := fmt.Fprintln(cmd.OutOrStdout(), "NULL")
					return err
				}
				_, err := fmt.Fprintln(cmd.OutOrStdout(), rule.Mask(v))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "masking function name (see --list)")
	cmd.Flags().StringArrayVar(&params, "param", nil, "function parameter k=v (repeatable)")
	cmd.Flags().StringVar(&keyHex, "key-hex", "", "key of the hash and pseudonym functions, hex (default $GMFIELD_MASK_KEY)")
	cmd.Flags().BoolVar(&list, "list", false, "list the masking functions and their parameters")
	return cmd
}

func newDetectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "detect VALUE|-",
		Short: "Show which kinds of personal data a value (or each line of stdin) looks like",
		Example: `  gmfield detect 11010519491231002X
  gmfield detect - < column-sample.txt`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("detect: give one VALUE, or - to read lines from stdin")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachValue(cmd.InOrStdin(), args[0], crypto.MaxPlaintextSize, func(v string) error {
				var parts []string
				for _, m := range masking.Detect(v) {
					parts = append(parts, fmt.Sprintf("%s:%.2f", m.Kind, m.Confidence))
				}
				if len(parts) == 0 {
					parts = []string{"none"}
				}
				_, err := fmt.Fprintln(cmd.OutOrStdout(), strings.Join(parts, " "))
				return err
			})
		},
	}
}

// eachValue calls f with arg, or with each line of in when arg is "-".
// eachValue calls f with arg, or for arg "-" with each line of in (without
// its line ending), refusing a line longer than limit bytes.
func eachValue(in io.Reader, arg string, limit int, f func(string) error) error {
	if arg != "-" {
		return f(arg)
	}
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		var line []byte
		for {
			chunk, err := r.ReadSlice('\n')
			if len(line)+len(chunk) > limit+2 {
				return fmt.Errorf("reading stdin: a line longer than %d bytes", limit)
			}
			line = append(line, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				if len(line) > 0 {
					return f(strings.TrimSuffix(string(line), "\r"))
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			break
		}
		if err := f(strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")); err != nil {
			return err
		}
	}
}

// parseParams reads masking parameters given as k=v.
func parseParams(what string, kvs []string) (masking.Params, error) {
	p := masking.Params{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("%s %q is not k=v", what, kv)}
		}
		p[k] = v
	}
	return p, nil
}

// maskKey is the option that gives the keyed masking functions their key
// (hex), none for "".
func maskKey(cmd, keyHex string) ([]masking.Option, error) {
	if keyHex == "" {
		return nil, nil
	}
	key, err := hex.DecodeString(strings.TrimSpace(keyHex))
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: the mask key is not hex", cmd)}
	}
	return []masking.Option{masking.WithKey(key)}, nil
}
