package doccheck

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twins lists the English documents that have a Chinese twin, as paths
// from the repository root.
var twins = []string{
	"README.md",
	"docs/quickstart.md",
	"docs/config.md",
	"docs/sqldriver.md",
	"docs/keys.md",
	"docs/policy.md",
	"docs/evidence.md",
	"docs/observability.md",
}

// zhPath is the Chinese twin of an English document.
func zhPath(en string) string {
	return filepath.ToSlash(filepath.Join("docs/zh", filepath.Base(en)))
}

// heading is one Markdown heading line.
type heading struct {
	level  int
	text   string
	line   int    // 1-based
	marker string // the TEXT of a following "<!-- en: TEXT -->" line
	marked bool   // whether that line is there
}

const (
	markerPrefix = "<!-- en: "
	markerSuffix = " -->"
)

// fenceOpen reports whether line opens a ``` or ~~~ code fence, and the
// fence's character and length.
func fenceOpen(line string) (byte, int, bool) {
	s := strings.TrimLeft(line, " \t")
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return 0, 0, false
	}
	c := s[0]
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	if n < 3 || (c == '`' && strings.ContainsRune(s[n:], '`')) {
		return 0, 0, false
	}
	return c, n, true
}

// fenceCloses reports whether line closes a fence of n characters c: at
// least n of them and nothing else but white space.
func fenceCloses(line string, c byte, n int) bool {
	s := strings.TrimSpace(line)
	if len(s) < n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			return false
		}
	}
	return true
}

// parseHeadings returns the headings of a Markdown text outside code
// fences, each with the marker line that follows it, if any.
func parseHeadings(src string) []heading {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var out []heading
	var fc byte
	var fn int
	inFence := false
	for i, line := range lines {
		if inFence {
			if fenceCloses(line, fc, fn) {
				inFence = false
			}
			continue
		}
		if c, n, ok := fenceOpen(line); ok {
			fc, fn, inFence = c, n, true
			continue
		}
		level := 0
		for level < len(line) && line[level] == '#' {
			level++
		}
		if level == 0 || level >= len(line) || line[level] != ' ' {
			continue
		}
		h := heading{level: level, text: strings.TrimSpace(line[level+1:]), line: i + 1}
		if i+1 < len(lines) {
			next := strings.TrimRight(lines[i+1], " \t")
			if strings.HasPrefix(next, markerPrefix) && strings.HasSuffix(next, markerSuffix) && len(next) >= len(markerPrefix)+len(markerSuffix) {
				h.marker = next[len(markerPrefix) : len(next)-len(markerSuffix)]
				h.marked = true
			}
		}
		out = append(out, h)
	}
	return out
}

// compare checks the headings of a Chinese twin against the English and
// returns one message per problem, naming the files, the English heading
// and the lines.
func compare(enFile string, en []heading, zhFile string, zh []heading) []string {
	var problems []string
	enCount := map[string]int{}
	for _, h := range en {
		enCount[h.text]++
	}
	zhCount := map[string]int{}
	for _, h := range zh {
		if !h.marked {
			problems = append(problems, fmt.Sprintf("%s:%d: heading %q has no <!-- en: … --> line after it", zhFile, h.line, h.text))
			continue
		}
		zhCount[h.marker]++
		if enCount[h.marker] == 0 {
			problems = append(problems, fmt.Sprintf("%s:%d: heading %q: its marker names English heading %q, which %s does not have", zhFile, h.line, h.text, h.marker, enFile))
		} else if zhCount[h.marker] > enCount[h.marker] {
			problems = append(problems, fmt.Sprintf("%s:%d: extra section: English heading %q appears only %d time(s) in %s", zhFile, h.line, h.marker, enCount[h.marker], enFile))
		}
	}
	seen := map[string]int{}
	for _, h := range en {
		seen[h.text]++
		if seen[h.text] > zhCount[h.text] {
			problems = append(problems, fmt.Sprintf("%s: missing section: English heading %q (%s:%d) has no Chinese heading", zhFile, h.text, enFile, h.line))
		}
	}
	if len(problems) > 0 {
		return problems
	}
	// Same sections, each once as often: now the order and the levels.
	for i := range en {
		e, z := en[i], zh[i]
		switch {
		case z.marker != e.text:
			problems = append(problems, fmt.Sprintf("%s:%d: out of order: heading %q marks English heading %q where %s:%d has %q", zhFile, z.line, z.text, z.marker, enFile, e.line, e.text))
		case z.level != e.level:
			problems = append(problems, fmt.Sprintf("%s:%d: heading %q is level %d; English heading %q (%s:%d) is level %d", zhFile, z.line, z.text, z.level, e.text, enFile, e.line, e.level))
		}
	}
	return problems
}

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "repository root %s has no go.mod", root)
	return root
}

func TestChineseTwins(t *testing.T) {
	root := repoRoot(t)
	for _, en := range twins {
		zh := zhPath(en)
		t.Run(en, func(t *testing.T) {
			enSrc, err := os.ReadFile(filepath.Join(root, en))
			require.NoError(t, err, "English document %s", en)
			zhSrc, err := os.ReadFile(filepath.Join(root, zh))
			require.NoError(t, err, "%s has no Chinese twin %s", en, zh)
			enHeadings := parseHeadings(string(enSrc))
			require.NotEmpty(t, enHeadings, "%s has no headings", en)
			for _, p := range compare(en, enHeadings, zh, parseHeadings(string(zhSrc))) {
				assert.Fail(t, p)
			}
		})
	}
}

func TestEveryChineseDocHasATwin(t *testing.T) {
	root := repoRoot(t)
	known := map[string]bool{}
	for _, en := range twins {
		known[zhPath(en)] = true
	}
	dir := filepath.Join(root, "docs", "zh")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		assert.True(t, known[rel], "%s has no English twin in the twin list (add the English document to twins in internal/doccheck)", rel)
		return nil
	})
	require.NoError(t, err)
}

func TestParseHeadings(t *testing.T) {
	src := "# Title\n<!-- en: Title -->\ntext\n" +
		"```yaml\n# a YAML comment, not a heading\n```\n" +
		"~~~\n## inside tildes\n```\nstill inside\n~~~\n" +
		"````md\n```\n# inside the longer fence\n````\n" +
		"#not a heading\n" +
		"## Second ##\n" +
		"### Third\n<!-- en: The third -->\n"
	got := parseHeadings(src)
	require.Len(t, got, 3)
	assert.Equal(t, heading{level: 1, text: "Title", line: 1, marker: "Title", marked: true}, got[0])
	assert.Equal(t, heading{level: 2, text: "Second ##", line: 17}, got[1])
	assert.Equal(t, heading{level: 3, text: "Third", line: 18, marker: "The third", marked: true}, got[2])
}

func TestCompare(t *testing.T) {
	const en = "# Driver\n\n## Tables\n\n### Rows\n\n## Roles\n\n```sh\n# comment\n```\n"
	tests := []struct {
		name string
		zh   string
		want []string // substrings, one per expected problem
	}{
		{"same", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Tables -->\n### 行\n<!-- en: Rows -->\n## 角色\n<!-- en: Roles -->\n", nil},
		{"missing section", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Tables -->\n## 角色\n<!-- en: Roles -->\n",
			[]string{`missing section: English heading "Rows" (en.md:5)`}},
		{"wrong order", "# 驱动\n<!-- en: Driver -->\n## 角色\n<!-- en: Roles -->\n## 表\n<!-- en: Tables -->\n### 行\n<!-- en: Rows -->\n",
			[]string{`zh.md:3: out of order`, `zh.md:5: out of order`, `zh.md:7: out of order`}},
		{"wrong level", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Tables -->\n## 行\n<!-- en: Rows -->\n## 角色\n<!-- en: Roles -->\n",
			[]string{`zh.md:5: heading "行" is level 2; English heading "Rows" (en.md:5) is level 3`}},
		{"no marker", "# 驱动\n<!-- en: Driver -->\n## 表\n\n### 行\n<!-- en: Rows -->\n## 角色\n<!-- en: Roles -->\n",
			[]string{`zh.md:3: heading "表" has no <!-- en:`, `missing section: English heading "Tables"`}},
		{"unknown marker", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Table -->\n### 行\n<!-- en: Rows -->\n## 角色\n<!-- en: Roles -->\n",
			[]string{`zh.md:3: heading "表": its marker names English heading "Table"`, `missing section: English heading "Tables"`}},
		{"extra section", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Tables -->\n## 表\n<!-- en: Tables -->\n### 行\n<!-- en: Rows -->\n## 角色\n<!-- en: Roles -->\n",
			[]string{`zh.md:5: extra section: English heading "Tables"`}},
		{"heading in a fence", "# 驱动\n<!-- en: Driver -->\n## 表\n<!-- en: Tables -->\n~~~\n### 行\n<!-- en: Rows -->\n~~~\n## 角色\n<!-- en: Roles -->\n",
			[]string{`missing section: English heading "Rows"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compare("en.md", parseHeadings(en), "zh.md", parseHeadings(tt.zh))
			require.Len(t, got, len(tt.want), "%q", got)
			for i, w := range tt.want {
				assert.Contains(t, got[i], w)
			}
		})
	}
}
