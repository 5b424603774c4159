package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/crypto"
	"github.com/gmfield/gmfield/sqldriver"
)

// EnvelopeLen is the largest stored envelope of a column whose plaintext
// has at most maxLen bytes, under a DEK id of the longest length allowed
// (docs/format.md §2): in characters of the text form, or bytes of the
// binary form.
func EnvelopeLen(form sqldriver.Form, maxLen int) int {
	if form == sqldriver.FormBinary {
		return crypto.BinaryLen(crypto.MaxKeyIDLen, maxLen)
	}
	return crypto.TextLen(crypto.MaxKeyIDLen, maxLen)
}

// DDL returns the statements that make the configuration's tables (or
// only table, when not empty) ready for gmfield on dialect: each protected
// column widened to hold its largest envelope (from its max_len, or an
// unbounded type without one), and each blind-index column added with an
// index of its own. With db, the live schema is read and only what is
// missing is returned, so that applying the output twice changes nothing;
// without db, every statement is returned.
func DDL(ctx context.Context, db *sql.DB, cfg *sqldriver.Config, dialectName, table string) ([]string, error) {
	d, err := dialectNamed(dialectName)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var out []string
	found := false
	for _, tc := range cfg.Tables {
		if table != "" && !strings.EqualFold(tc.Name, table) {
			continue
		}
		found = true
		schema, name := strings.ToLower(tc.Schema), strings.ToLower(tc.Name)
		var live map[string]liveColumn
		indexed := map[string]bool{}
		if db != nil {
			if live, err = d.columns(ctx, db, schema, name); err != nil {
				return nil, fmt.Errorf("gmfield/lifecycle: reading the columns of %s: %w", name, err)
			}
			if len(live) == 0 {
				return nil, fmt.Errorf("%w: table %s does not exist", ErrInvalid, name)
			}
			if indexed, err = d.indexed(ctx, db, schema, name); err != nil {
				return nil, fmt.Errorf("gmfield/lifecycle: reading the indexes of %s: %w", name, err)
			}
		}
		tn := d.tableName(schema, name)
		for _, cc := range tc.Columns {
			col := strings.ToLower(cc.Name)
			lc, have := live[col]
			if db != nil && !have {
				return nil, fmt.Errorf("%w: table %s has no column %s", ErrInvalid, name, col)
			}
			if s := d.widen(tn, col, cc, lc, db != nil); s != "" {
				out = append(out, s)
			}
			for _, ix := range cc.Indexes {
				ic := strings.ToLower(ix.Column)
				size := ix.Size
				if size == 0 {
					size = crypto.DefaultIndexSize
				}
				if _, ok := live[ic]; !ok {
					out = append(out, d.addIndexColumn(tn, ic, 2*size))
				}
				if !indexed[ic] {
					out = append(out, "CREATE INDEX "+d.q(name+"_"+ic+"_idx")+" ON "+tn+" ("+d.q(ic)+")")
				}
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: table %q is not in the configuration", ErrInvalid, table)
	}
	return out, nil
}

// widen returns the statement that makes column col of table hold its
// largest envelope, or "" when it already does (known says lc is the live
// column). SQLite does not limit lengths: nothing to widen.
func (d *dialect) widen(table, col string, cc sqldriver.Column, lc liveColumn, known bool) string {
	if d == sqlite {
		return ""
	}
	need := int64(-1)
	if cc.MaxLen > 0 {
		need = int64(EnvelopeLen(cc.Form, cc.MaxLen))
	}
	if known && (lc.Chars == -1 || (need > 0 && lc.Chars >= need)) && binaryType(lc.Type) == (cc.Form == sqldriver.FormBinary) {
		return ""
	}
	binary := cc.Form == sqldriver.FormBinary
	var typ string
	switch d {
	case postgres:
		switch {
		case binary:
			typ = "bytea"
		case need < 0 || need > 10485760:
			typ = "text"
		default:
			typ = fmt.Sprintf("varchar(%d)", need)
		}
		using := ""
		if !binary {
			using = " USING " + d.q(col) + "::text"
		}
		return "ALTER TABLE " + table + " ALTER COLUMN " + d.q(col) + " TYPE " + typ + using
	default: // mysql
		switch {
		case binary && (need < 0 || need > 65000):
			typ = "LONGBLOB"
		case binary:
			typ = fmt.Sprintf("VARBINARY(%d)", need)
		case need < 0 || need > 16000:
			typ = "LONGTEXT"
		default:
			typ = fmt.Sprintf("VARCHAR(%d)", need)
		}
		if !binary && lc.Charset != "" {
			typ += " CHARACTER SET " + lc.Charset
		}
		null := " NULL"
		if known && !lc.Nullable {
			null = " NOT NULL"
		}
		return "ALTER TABLE " + table + " MODIFY COLUMN " + d.q(col) + " " + typ + null
	}
}

func binaryType(t string) bool {
	t = strings.ToLower(t)
	return strings.Contains(t, "bytea") || strings.Contains(t, "blob") || strings.Contains(t, "binary")
}

// addIndexColumn adds a blind-index column of n hex digits.
func (d *dialect) addIndexColumn(table, col string, n int) string {
	typ := fmt.Sprintf("CHAR(%d)", n)
	if d == mysql {
		typ += " CHARACTER SET ascii COLLATE ascii_bin"
	}
	return "ALTER TABLE " + table + " ADD COLUMN " + d.q(col) + " " + typ + " NULL"
}
