package masking

import (
	"errors"
	"fmt"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrUnknownFunction reports a masking function name that does not
	// exist.
	ErrUnknownFunction = errors.New("gmfield/masking: unknown masking function")
	// ErrBadParameter reports an unknown, missing or invalid parameter of
	// a masking function.
	ErrBadParameter = errors.New("gmfield/masking: bad parameter")
	// ErrMissingKey reports a keyed function (hash, pseudonym) built
	// without a key.
	ErrMissingKey = errors.New("gmfield/masking: keyed function needs a key")
	// ErrInvalidPolicy reports a policy that does not validate; the
	// wrapping *PolicyError names the line of the mistake.
	ErrInvalidPolicy = errors.New("gmfield/masking: invalid policy")
	// ErrDenied is returned for a column whose action is deny for the
	// caller.
	ErrDenied = errors.New("gmfield/masking: access denied")
)

// PolicyError is a mistake in a policy document, with its line (0 when the
// policy was built in Go). It wraps ErrInvalidPolicy and, where one
// applies, the error of the masking function.
type PolicyError struct {
	Line int
	Msg  string
	Err  error
}

// Error describes the mistake and, when known, its line.
func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("gmfield/masking: policy line %d: %s", e.Line, e.Msg)
	}
	return "gmfield/masking: policy: " + e.Msg
}

// Unwrap returns ErrInvalidPolicy and the underlying error, if any.
func (e *PolicyError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidPolicy, e.Err}
	}
	return []error{ErrInvalidPolicy}
}
