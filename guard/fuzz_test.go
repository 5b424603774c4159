package guard

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/gmfield/gmfield/audit"
)

// FuzzApprovalText: the approval parser, after the signature, accepts
// exactly the canonical texts: what it accepts writes back byte for
// byte, holds known rules in order, and a principal and reason with no
// control character; anything else is ErrApprovalInvalid, never a panic.
func FuzzApprovalText(f *testing.F) {
	f.Add("gmfield-approval/1\nprincipal clerk-7\nrule bulk_select\nrule max_rows\nnot-before 2026-12-03T08:00:00Z\nexpires 2026-12-03T10:00:00Z\nreason ticket 123\nnonce 0123456789abcdef\n")
	f.Add("gmfield-approval/1\nprincipal 张三\nrule drop\nnot-before 2026-12-03T08:00:00Z\nexpires 2026-12-03T08:00:01Z\nreason 工单\nnonce ffffffffffffffff\n")
	f.Add("gmfield-approval/1\nprincipal a\nrule drop\nrule drop\nnot-before 2026-12-03T08:00:00Z\nexpires 2026-12-03T10:00:00Z\nreason r\nnonce 0123456789abcdef\n")
	f.Add("gmfield-approval/1\nprincipal a\nrule drop\nnot-before 2026-12-03T08:00:00.5Z\nexpires 2026-12-03T10:00:00Z\nreason r\nnonce 0123456789abcdef\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := parseApprovalText(text)
		if err != nil {
			if a != nil || !strings.Contains(err.Error(), ErrApprovalInvalid.Error()) {
				t.Fatalf("error %v with approval %v", err, a)
			}
			return
		}
		back, err := a.text()
		if err != nil || back != text {
			t.Fatalf("accepted a text that does not write back: %q → %q (%v)", text, back, err)
		}
		for i, r := range a.Rules {
			if _, err := ParseRule(string(r)); err != nil || i > 0 && a.Rules[i-1] >= r {
				t.Fatalf("rules %v", a.Rules)
			}
		}
		for _, s := range []string{a.Principal, a.Reason} {
			if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00") {
				t.Fatalf("field %q", s)
			}
		}
		if !a.Expires.After(a.NotBefore) {
			t.Fatal("expires not after not-before")
		}
	})
}

// FuzzParseApproval: a token verifies only as signed: a changed token
// never verifies to a different approval, and nothing panics.
func FuzzParseApproval(f *testing.F) {
	b, err := os.ReadFile("testdata/approval-vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var v struct {
		VerifierKey string `json:"verifier_key"`
		Valid       []struct {
			Token string `json:"token"`
		} `json:"valid"`
		Invalid []struct {
			Token string `json:"token"`
		} `json:"invalid"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	vk, err := audit.ParseVerifierKey(v.VerifierKey)
	if err != nil {
		f.Fatal(err)
	}
	verifiers := []note.Verifier{vk}
	valid := map[string]string{}
	for _, c := range v.Valid {
		f.Add(c.Token)
		a, err := ParseApproval(c.Token, verifiers...)
		if err != nil {
			f.Fatal(err)
		}
		valid[a.Nonce+a.Expires.String()] = c.Token
	}
	for _, c := range v.Invalid {
		f.Add(c.Token)
		// Signed, but expired or too long: ParseApproval accepts them
		// (the Guard does not).
		if a, err := ParseApproval(c.Token, verifiers...); err == nil {
			valid[a.Nonce+a.Expires.String()] = c.Token
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		a, err := ParseApproval(token, verifiers...)
		if err != nil {
			if a != nil {
				t.Fatal("approval with an error")
			}
			return
		}
		// It verified: its text is one of those signed.
		msg, _ := base64.RawURLEncoding.DecodeString(token)
		text := string(msg[:strings.LastIndex(string(msg), "\n\n")+1])
		if back, err := a.text(); err != nil || back != text {
			t.Fatalf("verified text does not write back")
		}
		if _, ok := valid[a.Nonce+a.Expires.String()]; !ok {
			t.Fatalf("a token verified that was never signed: %q", text)
		}
	})
}
