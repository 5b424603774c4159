package guard

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// DefaultApprover is the default name of an approver key.
const DefaultApprover = "gmfield/approver"

// MaxToken is the longest approval token accepted, in characters.
const MaxToken = 8192

// Approval lifts Rules for Principal from NotBefore until Expires
// (docs/format.md §11).
type Approval struct {
	Principal string
	Rules     []Rule
	NotBefore time.Time
	Expires   time.Time
	Reason    string
	// Nonce is random, set by Issue.
	Nonce string
}

const approvalHeader = "gmfield-approval/1"

// Issue signs a and returns its token. It sets a's nonce, sorts its rules
// and truncates its times to seconds.
func Issue(a Approval, signer note.Signer) (string, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	a.Nonce = hex.EncodeToString(nonce[:])
	a.NotBefore, a.Expires = a.NotBefore.UTC().Truncate(time.Second), a.Expires.UTC().Truncate(time.Second)
	a.Rules = slices.Clone(a.Rules)
	slices.Sort(a.Rules)
	a.Rules = slices.Compact(a.Rules)
	text, err := a.text()
	if err != nil {
		return "", err
	}
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrApprovalInvalid, err)
	}
	return base64.RawURLEncoding.EncodeToString(msg), nil
}

// text returns a's note text, checking it first.
func (a *Approval) text() (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(approvalHeader + "\nprincipal " + a.Principal + "\n")
	for _, r := range a.Rules {
		b.WriteString("rule " + string(r) + "\n")
	}
	b.WriteString("not-before " + a.NotBefore.UTC().Format(time.RFC3339) + "\n")
	b.WriteString("expires " + a.Expires.UTC().Format(time.RFC3339) + "\n")
	b.WriteString("reason " + a.Reason + "\nnonce " + a.Nonce + "\n")
	return b.String(), nil
}

func (a *Approval) check() error {
	bad := func(msg string) error { return fmt.Errorf("%w: %s", ErrApprovalInvalid, msg) }
	if err := checkField("principal", a.Principal); err != nil {
		return err
	}
	if err := checkField("reason", a.Reason); err != nil {
		return err
	}
	if len(a.Rules) == 0 {
		return bad("no rule")
	}
	for i, r := range a.Rules {
		if _, err := ParseRule(string(r)); err != nil {
			return bad(fmt.Sprintf("unknown rule %q", r))
		}
		if i > 0 && a.Rules[i-1] >= r {
			return bad("rules not in ascending order, or repeated")
		}
	}
	if !a.Expires.After(a.NotBefore) {
		return bad("expires is not after not-before")
	}
	if len(a.Nonce) != 16 || !isHex(a.Nonce) {
		return bad("nonce must be 16 hex digits")
	}
	return nil
}

func checkField(what, s string) error {
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: %s must be non-empty UTF-8 text with no leading or trailing space", ErrApprovalInvalid, what)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s holds a control character", ErrApprovalInvalid, what)
		}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseApproval decodes token, verifies its signature with one of
// approvers and parses it. It does not check its times against a clock
// nor its length against a maximum (Guard does).
func ParseApproval(token string, approvers ...note.Verifier) (*Approval, error) {
	if len(token) > MaxToken {
		return nil, fmt.Errorf("%w: token longer than %d characters", ErrApprovalInvalid, MaxToken)
	}
	msg, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("%w: token is not base64url", ErrApprovalInvalid)
	}
	n, err := note.Open(msg, note.VerifierList(approvers...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, fmt.Errorf("%w: not signed by a trusted approver key", ErrApprovalInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrApprovalInvalid, err)
	}
	return parseApprovalText(n.Text)
}

// parseApprovalText parses a verified note's text.
func parseApprovalText(text string) (*Approval, error) {
	bad := func(msg string) error { return fmt.Errorf("%w: %s", ErrApprovalInvalid, msg) }
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 7 || lines[0] != approvalHeader {
		return nil, bad("not a gmfield-approval/1 note")
	}
	field := func(line, key string) (string, bool) {
		return strings.CutPrefix(line, key+" ")
	}
	a := &Approval{}
	var ok bool
	if a.Principal, ok = field(lines[1], "principal"); !ok {
		return nil, bad("line 2 is not principal")
	}
	i := 2
	for ; i < len(lines); i++ {
		r, ok := field(lines[i], "rule")
		if !ok {
			break
		}
		a.Rules = append(a.Rules, Rule(r))
	}
	if len(lines)-i != 4 {
		return nil, bad("lines after the rules are not not-before, expires, reason, nonce")
	}
	times := [2]*time.Time{&a.NotBefore, &a.Expires}
	for j, key := range []string{"not-before", "expires"} {
		v, ok := field(lines[i+j], key)
		if !ok {
			return nil, bad("missing " + key)
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil || len(v) != len("2006-01-02T15:04:05Z") || !strings.HasSuffix(v, "Z") {
			return nil, bad(key + " is not YYYY-MM-DDTHH:MM:SSZ")
		}
		*times[j] = t
	}
	if a.Reason, ok = field(lines[i+2], "reason"); !ok {
		return nil, bad("missing reason")
	}
	if a.Nonce, ok = field(lines[i+3], "nonce"); !ok {
		return nil, bad("missing nonce")
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	if t, err := a.text(); err != nil || t != text {
		return nil, bad("not in canonical form")
	}
	return a, nil
}

type approvalKey struct{}

// WithApproval returns a copy of ctx carrying an approval token, in
// addition to those ctx already carries. The driver verifies a token
// only when a rule it could lift would block the statement.
func WithApproval(ctx context.Context, token string) context.Context {
	prev, _ := ctx.Value(approvalKey{}).([]string)
	return context.WithValue(ctx, approvalKey{}, append(slices.Clip(prev), token))
}

type tokenResult struct {
	a   *Approval
	err error
}

// approved returns an approval in ctx that lifts rule for principal id
// now; otherwise nil and why a presented token did not (nil if none was
// presented).
func (g *Guard) approved(ctx context.Context, id string, rule Rule) (*Approval, error) {
	tokens, _ := ctx.Value(approvalKey{}).([]string)
	var why error
	now := g.now()
	for _, tok := range tokens {
		res, ok := g.tokens.Get(tok)
		if !ok {
			res.a, res.err = ParseApproval(tok, g.approvers...)
			if res.err == nil && res.a.Expires.Sub(res.a.NotBefore) > g.maxApproval {
				res.a, res.err = nil, fmt.Errorf("%w: lasts longer than %s", ErrApprovalInvalid, g.maxApproval)
			}
			g.tokens.Add(tok, res)
		}
		a, err := res.a, res.err
		switch {
		case err != nil:
		case a.Principal != id:
			err = fmt.Errorf("%w: issued for another principal", ErrApprovalInvalid)
		case !slices.Contains(a.Rules, rule):
			continue
		case now.Before(a.NotBefore) || !now.Before(a.Expires):
			err = fmt.Errorf("%w: valid from %s until %s", ErrApprovalExpired, a.NotBefore.Format(time.RFC3339), a.Expires.Format(time.RFC3339))
		default:
			return a, nil
		}
		if why == nil {
			why = err
		}
	}
	return nil, why
}
