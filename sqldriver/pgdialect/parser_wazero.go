//go:build !pgquery_cgo

package pgdialect

// maxParsers is how many wazero parser instances may exist.
const maxParsers = 2
