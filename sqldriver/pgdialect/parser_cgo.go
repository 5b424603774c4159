//go:build pgquery_cgo

package pgdialect

// maxParsers bounds concurrent cgo parses (each is cheap to start).
const maxParsers = 64
