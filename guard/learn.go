package guard

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gmfield/gmfield/masking"
)

// Learned is one line of a learn file: a statement fingerprint first
// seen for a set of roles, with its shape (literals written ?), kind and
// protected tables. It holds no value.
type Learned struct {
	Fingerprint string   `json:"fp"`
	Shape       string   `json:"shape"`
	Kind        string   `json:"kind"`
	Tables      []string `json:"tables"`
	Roles       []string `json:"roles"`
}

var kindNames = map[Kind]string{KindOther: "other", KindSelect: "select", KindInsert: "insert", KindUpdate: "update", KindDelete: "delete", KindSchema: "ddl"}

// learner writes each fingerprint and roles once.
type learner struct {
	w    io.Writer
	mu   sync.Mutex
	seen sync.Map // fingerprint + roles → struct{}
}

func (l *learner) record(g *Guard, pr masking.Principal, st *Statement) {
	roles := make([]string, 0, len(pr.Roles))
	for _, r := range pr.Roles {
		roles = append(roles, strings.ToLower(r))
	}
	slices.Sort(roles)
	roles = slices.Compact(roles)
	key := st.Fingerprint + "\x00" + strings.Join(roles, "\x00")
	if _, dup := l.seen.LoadOrStore(key, struct{}{}); dup {
		return
	}
	line, err := json.Marshal(Learned{Fingerprint: st.Fingerprint, Shape: st.Shape, Kind: kindNames[st.Kind], Tables: st.Tables, Roles: roles})
	if err != nil {
		return
	}
	l.mu.Lock()
	_, err = l.w.Write(append(line, '\n'))
	l.mu.Unlock()
	if err != nil {
		l.seen.Delete(key)
		g.log.Warn("gmfield/guard: cannot write the learned statements", "error", err.Error())
	}
}

// ReadLearned reads a learn file, skipping repeated lines.
func ReadLearned(r io.Reader) ([]Learned, error) {
	var out []Learned
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l Learned
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || !isFingerprint(l.Fingerprint) {
			return nil, fmt.Errorf("%w: learn file line %d is not a learned statement", ErrInvalidConfig, n)
		}
		key := l.Fingerprint + "\x00" + strings.Join(l.Roles, "\x00")
		if !seen[key] {
			seen[key] = true
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// WriteWhitelist writes learned statements as the roles: section of a
// guard configuration, each role's statements with their shape as a
// comment, roles and fingerprints in order. A statement learned for a
// caller with several roles is listed under each; one learned for a
// caller with none under defaultRole.
func WriteWhitelist(w io.Writer, learned []Learned, defaultRole string) error {
	byRole := map[string]map[string]Learned{}
	for _, l := range learned {
		roles := l.Roles
		if len(roles) == 0 {
			roles = []string{defaultRole}
		}
		for _, r := range roles {
			if byRole[r] == nil {
				byRole[r] = map[string]Learned{}
			}
			byRole[r][l.Fingerprint] = l
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("roles:\n")
	for _, r := range slices.Sorted(maps.Keys(byRole)) {
		fmt.Fprintf(bw, "  %s:\n    statements:\n", yamlKey(r))
		for _, fp := range slices.Sorted(maps.Keys(byRole[r])) {
			l := byRole[r][fp]
			fmt.Fprintf(bw, "      - %s # %s: %s\n", fp, l.Kind, oneLine(l.Shape))
		}
	}
	return bw.Flush()
}

// yamlKey quotes a role name that YAML would not read back as itself.
func yamlKey(s string) string {
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// oneLine keeps a shape on its comment line: every character YAML may
// read as a line break (controls, U+0085, U+2028, U+2029) is a space.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
