package pgdialect

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gmfield/gmfield/sqldriver/internal/sqlir"
)

// tokens is the scanner's view of a statement: every token (comments
// included), and those that are not comments indexed by position and
// nesting (sqlir.Tokens). Built once per statement, so that positions
// cost O(log n).
type tokens struct {
	src   string
	all   []*pg.ScanToken // comments included
	toks  []*pg.ScanToken // comments left out
	depth []int           // depth[i]: parentheses open before toks[i]
	match []int           // match[i]: for a "(" the index of its ")", else -1
	ix    *sqlir.Tokens
	// dq marks, for SQLite, the tokens written in double quotes, which
	// SQLite reads as strings when no column has their name.
	dq map[int]bool
}

func newTokens(src string, scan []*pg.ScanToken) *tokens {
	t := &tokens{src: src, all: scan}
	var spans []sqlir.Span
	for _, tk := range scan {
		if tk.Token != pg.Token_SQL_COMMENT && tk.Token != pg.Token_C_COMMENT {
			t.toks = append(t.toks, tk)
			spans = append(spans, sqlir.Span{Start: int(tk.Start), End: int(tk.End)})
		}
	}
	t.ix = sqlir.NewTokens(spans,
		func(i int) bool { return t.toks[i].Token == pg.Token_ASCII_40 },
		func(i int) bool { return t.toks[i].Token == pg.Token_ASCII_41 })
	t.depth, t.match = t.ix.Depth, t.ix.Match
	return t
}

// at returns the index of the token starting at pos, or -1.
func (t *tokens) at(pos int32) int { return t.ix.At(int(pos)) }

// after returns the index of the first token starting at or after pos.
func (t *tokens) after(pos int32) int { return t.ix.After(int(pos)) }

func (t *tokens) is(i int, tok pg.Token) bool {
	return i >= 0 && i < len(t.toks) && t.toks[i].Token == tok
}

// lastName returns the index of the last name of the dotted name that
// starts at token i (a.b.c: the c).
func (t *tokens) lastName(i int) int {
	for i >= 0 && t.is(i+1, pg.Token_ASCII_46) && i+2 < len(t.toks) {
		i += 2
	}
	return i
}

// find returns the index of the first token of kind tok at depth d at or
// after index from, stopping (-1) at a ")" that closes depth d.
func (t *tokens) find(from int, d int, tok pg.Token) int {
	return t.ix.Find(from, d, func(i int) bool { return t.toks[i].Token == tok })
}

// end returns the end of the last token before index stop (or of the
// statement, for stop < 0), leaving out a final ";".
func (t *tokens) end(stop int) int {
	return t.ix.End(stop, func(i int) bool { return t.toks[i].Token == pg.Token_ASCII_59 })
}

// maxNesting bounds nestingEstimate. libpg_query under wazero overflows
// its stack on trees a few thousand levels deep (nested subqueries at
// about 2,000, operator chains at about 5,000) and the parser instance is
// then unusable for every later statement; real statements stay far
// below this.
const maxNesting = 1000

// nestingEstimate bounds from above the depth of the tree a statement
// parses into, from its tokens alone: the parenthesis depth plus, at
// each depth, the keywords and operators since the last comma, AND or OR
// (lists and AND/OR chains are flat in the tree; operator chains, NOT,
// casts, joins and set operations nest).
func nestingEstimate(toks []*pg.ScanToken) int {
	ops := []int{0}
	sum, most := 0, 0
	for _, t := range toks {
		switch t.Token {
		case pg.Token_ASCII_40, pg.Token_ASCII_91: // ( [
			ops = append(ops, 0)
			sum++
		case pg.Token_ASCII_41, pg.Token_ASCII_93: // ) ]
			if len(ops) > 1 {
				sum -= ops[len(ops)-1] + 1
				ops = ops[:len(ops)-1]
			}
		case pg.Token_ASCII_44, pg.Token_AND, pg.Token_OR: // , AND OR
			sum -= ops[len(ops)-1]
			ops[len(ops)-1] = 0
		case pg.Token_IDENT, pg.Token_ICONST, pg.Token_FCONST, pg.Token_SCONST, pg.Token_BCONST, pg.Token_XCONST,
			pg.Token_USCONST, pg.Token_UIDENT, pg.Token_PARAM, pg.Token_C_COMMENT, pg.Token_SQL_COMMENT:
		default:
			ops[len(ops)-1]++
			sum++
		}
		most = max(most, sum)
	}
	return most
}

// classify gives each token its kind for the statement's fingerprint.
func (t *tokens) classify() []sqlir.Token {
	out := make([]sqlir.Token, len(t.toks))
	for i, tk := range t.toks {
		k := sqlir.TokOther
		switch tk.Token {
		case pg.Token_SCONST, pg.Token_USCONST, pg.Token_BCONST, pg.Token_XCONST, pg.Token_ICONST, pg.Token_FCONST, pg.Token_PARAM,
			pg.Token_TRUE_P, pg.Token_FALSE_P:
			k = sqlir.TokValue
		case pg.Token_UIDENT:
			k = sqlir.TokQuoted
		case pg.Token_IDENT:
			k = sqlir.TokWord
			if t.src[tk.Start] == '"' {
				k = sqlir.TokQuoted
				if t.dq[int(tk.Start)] {
					k = sqlir.TokMaybeString
				}
			}
		default:
			if tk.KeywordKind != pg.KeywordKind_NO_KEYWORD {
				k = sqlir.TokWord
			}
		}
		out[i] = sqlir.Token{Span: sqlir.Span{Start: int(tk.Start), End: int(tk.End)}, Kind: k}
	}
	return out
}
