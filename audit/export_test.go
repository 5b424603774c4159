package audit

import "encoding/json"

// EncodeBodies returns e's body by appendBody and by encoding/json, for
// the differential fuzz target.
func EncodeBodies(e *Event) (got, want []byte, err error) {
	b := body{Time: e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"), Instance: e.Instance, Principal: e.Principal,
		Roles: e.Roles, Grants: e.Grants, Kind: e.Kind, Fingerprint: e.Fingerprint, Shape: cutShape(e.Shape), Tables: e.Tables,
		Columns: e.Columns, Rows: e.Rows, Decrypted: e.Decrypted, Outcome: e.Outcome, Reason: e.Reason, Rule: e.Rule}
	for _, s := range []*[]string{&b.Roles, &b.Tables} {
		if *s == nil {
			*s = []string{}
		}
	}
	if b.Columns == nil {
		b.Columns = []Column{}
	}
	want, err = json.Marshal(&b)
	return appendBody(nil, e), want, err
}
