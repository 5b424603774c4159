package mysqldialect

import (
	"fmt"
	"strings"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
	"github.com/gmfield/gmfield/sqldriver/sqlplan"
)

// The TiDB parser gives the start of each expression but not its end, and
// no position for column lists. These tokens locate ends and parentheses
// only; what a statement means always comes from the parser's syntax tree,
// and every rewrite is parsed again and checked before it is used.

type tokKind int

const (
	tkWord   tokKind = iota // identifier or keyword
	tkQuoted                // `identifier`
	tkString                // '…'
	tkNumber
	tkParam // ?
	tkPunct // any other single byte
)

type token struct {
	kind       tokKind
	start, end int
}

// tokens is a statement's tokens with their parenthesis depth and, for
// each "(", the index of its ")".
type tokens struct {
	src   string
	toks  []token
	depth []int
	match []int
	ix    *sqlir.Tokens
}

// tokenize splits sql into tokens, skipping spaces and comments, and
// refuses what MySQL and MariaDB could read differently from the TiDB
// parser, or differently under another sql_mode or character set:
//   - a backslash anywhere (with NO_BACKSLASH_ESCAPES a string ends at the
//     first quote after it, without at the second);
//   - a double-quoted token (a string by default, a name under
//     ANSI_QUOTES);
//   - "||" (OR by default, concatenation under PIPES_AS_CONCAT);
//   - comments that execute (/*! … */, /*M! … */, /*T! … */, /*+ … */) or
//     that hold "/*";
//   - unterminated strings and comments.
func tokenize(sql string) (*tokens, error) {
	bad := func(what string, at int) error {
		return sqlplan.Refuse(sqlplan.ErrUnparsable, "", "", fmt.Sprintf("%s at byte %d, which the server may read differently", what, at))
	}
	if i := strings.IndexByte(sql, '\\'); i >= 0 {
		return nil, bad("a backslash (bind the value instead)", i)
	}
	t := &tokens{src: sql}
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && i+1 < len(sql) && sql[i+1] == '-' && (i+2 == len(sql) || sql[i+2] <= ' ')):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			body := sql[i+2:]
			if strings.HasPrefix(body, "!") || strings.HasPrefix(body, "M!") || strings.HasPrefix(body, "m!") ||
				strings.HasPrefix(body, "T!") || strings.HasPrefix(body, "+") {
				return nil, bad("an executable comment", i)
			}
			j := strings.Index(body, "*/")
			if j < 0 {
				return nil, bad("an unterminated comment", i)
			}
			if strings.Contains(body[:j], "/*") {
				return nil, bad("a nested comment", i)
			}
			i += j + 4
		case c == '"':
			return nil, bad("a double-quoted token", i)
		case c == '\'' || c == '`':
			j := i + 1
			closed := false
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				j++
			}
			if !closed {
				return nil, bad("an unterminated string or name", i)
			}
			k := tkString
			if c == '`' {
				k = tkQuoted
			}
			t.toks = append(t.toks, token{k, i, j})
			i = j
		case c == '?':
			t.toks = append(t.toks, token{tkParam, i, i + 1})
			i++
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9'):
			j := i
			for j < len(sql) && (isWord(sql[j]) || sql[j] == '.' || ((sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E'))) {
				j++
			}
			t.toks = append(t.toks, token{tkNumber, i, j})
			i = j
		case isWord(c):
			j := i
			for j < len(sql) && isWord(sql[j]) {
				j++
			}
			t.toks = append(t.toks, token{tkWord, i, j})
			i = j
		default:
			if c == '|' && i+1 < len(sql) && sql[i+1] == '|' {
				return nil, bad("||", i)
			}
			t.toks = append(t.toks, token{tkPunct, i, i + 1})
			i++
		}
	}
	spans := make([]sqlir.Span, len(t.toks))
	for k, tk := range t.toks {
		spans[k] = sqlir.Span{Start: tk.start, End: tk.end}
	}
	t.ix = sqlir.NewTokens(spans, func(k int) bool { return t.punct(k, '(') }, func(k int) bool { return t.punct(k, ')') })
	t.depth, t.match = t.ix.Depth, t.ix.Match
	return t, nil
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// at returns the index of the token starting at pos, or -1.
func (t *tokens) at(pos int) int { return t.ix.At(pos) }

// after returns the index of the first token starting at or after pos.
func (t *tokens) after(pos int) int { return t.ix.After(pos) }

func (t *tokens) punct(i int, c byte) bool {
	return i >= 0 && i < len(t.toks) && t.toks[i].kind == tkPunct && t.src[t.toks[i].start] == c
}

func (t *tokens) word(i int, w string) bool {
	return i >= 0 && i < len(t.toks) && t.toks[i].kind == tkWord && strings.EqualFold(t.src[t.toks[i].start:t.toks[i].end], w)
}

// find returns the index of the first word w at depth d at or after from,
// stopping (-1) where depth d closes.
func (t *tokens) find(from, d int, w string) int {
	return t.ix.Find(from, d, func(i int) bool { return t.word(i, w) })
}

// end returns the end of the last token before index stop (or of the
// statement, for stop < 0), leaving out a final ";".
func (t *tokens) end(stop int) int {
	return t.ix.End(stop, func(i int) bool { return t.punct(i, ';') })
}

// classify gives each token its kind for the statement's fingerprint.
func (t *tokens) classify() []sqlir.Token {
	out := make([]sqlir.Token, len(t.toks))
	for i, tk := range t.toks {
		k := sqlir.TokOther
		switch tk.kind {
		case tkWord:
			k = sqlir.TokWord
			if w := t.src[tk.start:tk.end]; strings.EqualFold(w, "true") || strings.EqualFold(w, "false") {
				k = sqlir.TokValue
			}
		case tkQuoted:
			k = sqlir.TokQuoted
		case tkString, tkNumber, tkParam:
			k = sqlir.TokValue
		}
		out[i] = sqlir.Token{Span: sqlir.Span{Start: tk.start, End: tk.end}, Kind: k}
	}
	return out
}
