package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

func newPlanCmd() *cobra.Command {
	var cfgPath, dialect string
	cmd := &cobra.Command{
		Use:   "plan --config FILE [--dialect sqlite|postgres|mysql] SQL|-",
		Short: "Show how the driver rewrites a statement, or why it refuses it",
		Example: `  gmfield plan --config gmfield.yaml --dialect postgres 'SELECT name FROM citizen WHERE phone = $1'
  gmfield plan --config gmfield.yaml - < query.sql`,
		Long: `Analyzes SQL (or standard input, with -) as the gmfield driver would under the
configuration FILE, and prints the statement it sends, what it binds to each
placeholder, and which result columns it decrypts or hides; a refused statement
prints its reason and exits with status 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfgPath == "" || len(args) != 1 {
				return usageError{errors.New("plan: --config and one SQL statement (or -) are required")}
			}
			query := args[0]
			if query == "-" {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				query = string(b)
			}
			cfg, err := loadConfig(cmd, cfgPath)
			if err != nil {
				return err
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "gmfield: warning:", w)
			}
			if dialect != "" {
				d, ok := sqldriver.DialectNamed(dialect)
				if !ok {
					return usageError{fmt.Errorf("plan: unknown dialect %q (sqlite, postgres, mysql)", dialect)}
				}
				cfg.Dialect = d
			}
			if cfg.Dialect == nil {
				return usageError{errors.New("plan: give --dialect (the configuration names none)")}
			}
			p, err := sqldriver.Analyze(cfg, query)
			if err != nil {
				return err
			}
			printPlan(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "driver configuration (docs/config.md)")
	cmd.Flags().StringVar(&dialect, "dialect", "", "sqlite, postgres or mysql (default: the configuration's)")
	return cmd
}

func printPlan(w io.Writer, p *sqlplan.Plan) {
	if !p.Protected {
		fmt.Fprintln(w, "passes through unchanged: no protected table")
		return
	}
	fmt.Fprintf(w, "sends:  %s\n", p.SQL)
	fmt.Fprintf(w, "takes:  %d argument(s)\n", p.NumInput)
	for i, s := range p.Slots {
		src := "literal"
		switch {
		case s.Value.Null:
			src = "NULL"
		case s.Value.Arg >= 0:
			src = fmt.Sprintf("argument %d", s.Value.Arg+1)
		}
		var what string
		switch s.Op {
		case sqlplan.OpPass:
			what = src
		case sqlplan.OpSeal:
			what = fmt.Sprintf("seal %s for %s.%s", src, s.Table, s.Column)
			if s.RowKey != nil {
				what += " with its row key"
			}
		case sqlplan.OpIndex:
			what = fmt.Sprintf("%s index of %s for %s.%s", s.Transform, src, s.Table, s.Column)
		case sqlplan.OpLikeLast4:
			what = fmt.Sprintf("last4 index of the LIKE pattern %s for %s.%s", src, s.Table, s.Column)
		}
		fmt.Fprintf(w, "bind %d: %s\n", i+1, what)
	}
	for i, r := range p.Results {
		switch {
		case r.Star && len(r.StarTables) > 0:
			fmt.Fprintf(w, "column %d: * of %s, protected columns by name\n", i+1, strings.Join(r.StarTables, ", "))
		case r.Column != "":
			fmt.Fprintf(w, "column %d: %s.%s, opened or masked per role\n", i+1, r.Table, r.Column)
		case r.IndexOf != "":
			fmt.Fprintf(w, "column %d: blind index of %s.%s, NULL below hash\n", i+1, r.Table, r.IndexOf)
		}
	}
	if p.Hidden > 0 {
		fmt.Fprintf(w, "hidden: %d column(s) appended for row keys or pseudonyms\n", p.Hidden)
	}
}
