// Package pii holds the Go types of the example's protected fields.
package pii

// IDNumber is a resident ID number (居民身份证号码). A named string
// type: the gmfield driver binds it as its text, and ent scans the
// decrypted or masked text back into it.
type IDNumber string
