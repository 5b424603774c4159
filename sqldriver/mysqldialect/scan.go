package mysqldialect

// The TiDB parser gives the start of each expression but not its end, and
// no position for column lists. These tokens locate ends and parentheses
// only; what a statement means always comes from the parser's AST, and
// every rewrite is parsed again and checked before it is used (verify).

type tokKind int

const (
	tkWord   tokKind = iota // identifier or keyword
	tkQuoted                // `identifier`
	tkString                // '…' or "…"
	tkNumber
	tkParam // ?
	tkPunct // any other single byte
)

type token struct {
	kind       tokKind
	start, end int
}

// tokenize splits sql into tokens, skipping spaces and comments. It reports
// false for text it cannot split safely (an unterminated string or comment,
// or an executable comment "/*!…*/").
func tokenize(sql string) ([]token, bool) {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && i+2 <= len(sql) && sql[i:min(i+2, len(sql))] == "--" && (i+2 == len(sql) || sql[i+2] <= ' ')):
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			if i+2 < len(sql) && sql[i+2] == '!' {
				return nil, false
			}
			j := indexFrom(sql, "*/", i+2)
			if j < 0 {
				return nil, false
			}
			i = j + 2
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			closed := false
			for j < len(sql) {
				if sql[j] == '\\' && c != '`' {
					j += 2
					continue
				}
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
				return nil, false
			}
			k := tkString
			if c == '`' {
				k = tkQuoted
			}
			toks = append(toks, token{k, i, j})
			i = j
		case c == '?':
			toks = append(toks, token{tkParam, i, i + 1})
			i++
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(sql) && sql[i+1] >= '0' && sql[i+1] <= '9'):
			j := i
			for j < len(sql) && (isWord(sql[j]) || sql[j] == '.' || ((sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E'))) {
				j++
			}
			toks = append(toks, token{tkNumber, i, j})
			i = j
		case isWord(c):
			j := i
			for j < len(sql) && isWord(sql[j]) {
				j++
			}
			toks = append(toks, token{tkWord, i, j})
			i = j
		default:
			toks = append(toks, token{tkPunct, i, i + 1})
			i++
		}
	}
	return toks, true
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
