package scan

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gmfield/gmfield/sqldriver"
)

// Propose returns a gmfield configuration (docs/config.md) that protects
// every personal column the report found: its kind's masking function, a
// full blind index for identifiers and phone numbers (and last4 for
// mobiles), the tables' row keys, and a roles skeleton. keyringDir is the
// key directory it names (default ./keys), to be made with
// `gmfield keyring init --dir DIR --kek sm4`. Columns to review, and what
// cannot be protected as named, are marked with comments. It holds no
// value.
func Propose(r *Report, keyringDir string) []byte {
	if keyringDir == "" {
		keyringDir = "./keys"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Proposed by gmfield scan on %s from the %s database%s.\n", r.Started.UTC().Format(time.DateOnly), yamlComment(r.Dialect), yamlComment(inSchema(r.Schema)))
	b.WriteString("# Review every column before use (docs/classification.md, docs/config.md). Then:\n")
	fmt.Fprintf(&b, "#   gmfield keyring init --dir %s --kek sm4\n", yamlComment(keyringDir))
	b.WriteString("#   gmfield ddl --config THIS_FILE --dsn DSN    (widens the columns, adds the blind-index columns)\n")
	b.WriteString("#   gmfield migrate --config THIS_FILE --dsn DSN  (encrypts the existing rows)\n")
	fmt.Fprintf(&b, "dialect: %s\n", yamlScalar(r.Dialect))
	fmt.Fprintf(&b, "keyring: {provider: local-sm4, dir: %s}\n", yamlScalar(keyringDir))
	b.WriteString("tables:\n")
	tables := 0
	for _, t := range r.Tables {
		var cols []string
		taken := map[string]bool{}
		for _, c := range t.Columns {
			taken[strings.ToLower(c.Name)] = true
		}
		for _, c := range t.Columns {
			if !c.Grade.Personal || c.Protected {
				continue
			}
			why := fmt.Sprintf("%s %.2f", c.Kind, c.Confidence)
			if c.Grade.Sensitive {
				why += ", sensitive (" + c.Grade.Basis + ")"
			}
			if c.Review {
				why += ", REVIEW: " + strings.Join(c.Evidence.Notes, "; ")
			}
			switch {
			case !sqldriver.PlainIdentifier(c.Name):
				cols = append(cols, fmt.Sprintf("      # %s (%s): not a plain lower-case identifier; rename the column to protect it", yamlComment(c.Name), yamlComment(why)))
				continue
			case strings.EqualFold(c.Name, t.RowKey):
				cols = append(cols, fmt.Sprintf("      # %s (%s): the primary key; a row key is not encrypted: give the table another key", c.Name, yamlComment(why)))
				continue
			}
			cols = append(cols, fmt.Sprintf("      %s: %s  # %s", c.Name, columnSpec(c, taken), yamlComment(why)))
		}
		if len(cols) == 0 {
			continue
		}
		if !sqldriver.PlainIdentifier(t.Name) {
			fmt.Fprintf(&b, "  # table %s: not a plain lower-case identifier; rename it to protect its %d personal columns\n", yamlComment(t.Name), len(cols))
			continue
		}
		tables++
		fmt.Fprintf(&b, "  %s:\n", t.Name)
		if r.Schema != "" && sqldriver.PlainIdentifier(r.Schema) {
			fmt.Fprintf(&b, "    schema: %s\n", r.Schema)
		}
		if rk := rowKeySpec(t); rk != "" {
			fmt.Fprintf(&b, "    row_key: %s\n", rk)
		} else {
			b.WriteString("    # no single-column primary key: name a row key (docs/config.md) so that a value copied to another row does not open\n")
		}
		b.WriteString("    columns:\n")
		for _, c := range cols {
			b.WriteString(c + "\n")
		}
	}
	if tables == 0 {
		b.WriteString("  {}\n")
	}
	b.WriteString(`roles:
  admin:   {default: plain}   # the data's owners: values in clear, every read audited
  clerk:   {default: mask}    # staff: masked values
  default: {default: "null"}  # everyone else: NULL
`)
	return []byte(b.String())
}

// columnSpec is the configuration of one protected column.
func columnSpec(c Column, taken map[string]bool) string {
	ki := info[c.Kind]
	var parts []string
	if len(ki.params) > 0 {
		var ps []string
		for _, k := range slices.Sorted(maps.Keys(ki.params)) {
			ps = append(ps, k+": "+ki.params[k])
		}
		parts = append(parts, fmt.Sprintf("mask: {function: %s, params: {%s}}", ki.mask, strings.Join(ps, ", ")))
	} else {
		parts = append(parts, "mask: "+ki.mask)
	}
	if binaryType(strings.ToLower(c.Type)) {
		parts = append(parts, "form: binary")
	}
	var idx []string
	for _, kind := range ki.indexes {
		suffix, spec := "_bidx", "full"
		switch kind {
		case "last4":
			suffix, spec = "_last4_bidx", "last4"
		case "lower":
			spec = "{transform: lower}"
		}
		idx = append(idx, freeName(c.Name, suffix, taken)+": "+spec)
	}
	if len(idx) > 0 {
		parts = append(parts, "index: {"+strings.Join(idx, ", ")+"}")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// freeName is col+suffix, shortened to an identifier's 63 characters and
// numbered when the table already has a column of that name.
func freeName(col, suffix string, taken map[string]bool) string {
	for i := 1; ; i++ {
		s := suffix
		if i > 1 {
			s = fmt.Sprintf("%s%d", suffix, i)
		}
		name := col
		if len(name)+len(s) > 63 {
			name = name[:63-len(s)]
		}
		if name += s; !taken[name] {
			taken[name] = true
			return name
		}
	}
}

// rowKeySpec is the row_key of a table: its single-column primary key, if
// it has a type gmfield binds.
func rowKeySpec(t Table) string {
	if t.RowKey == "" || !sqldriver.PlainIdentifier(t.RowKey) {
		return ""
	}
	for _, c := range t.Columns {
		if c.Name != t.RowKey {
			continue
		}
		typ := strings.ToLower(c.Type)
		switch {
		case strings.Contains(typ, "int") || strings.Contains(typ, "serial"):
			return c.Name
		case typ == "uuid":
			return "{column: " + c.Name + ", type: uuid}"
		case strings.Contains(typ, "char") || strings.Contains(typ, "text"):
			return "{column: " + c.Name + ", type: text}"
		}
	}
	return ""
}

var safeScalar = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)

// yamlScalar quotes s unless it is plainly safe in a flow mapping (Go's
// ASCII quoting uses only escapes YAML's double-quoted style has).
func yamlScalar(s string) string {
	if safeScalar.MatchString(s) {
		return s
	}
	return strconv.QuoteToASCII(strings.ToValidUTF8(s, "\uFFFD"))
}

// yamlComment keeps s on one comment line: every control character and
// line or paragraph separator becomes a space.
func yamlComment(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFEFF' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
