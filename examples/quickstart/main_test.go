package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	s := out.String()
	assert.Contains(t, s, "gmf1:")
	assert.Contains(t, s, "found id=1002")
	assert.Contains(t, s, "张三 11010519491231002X 13800138000")
	assert.Contains(t, s, "errors.Is(err, crypto.ErrAuthentication) = true")
	// Stored forms never show plaintext.
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "id=") && strings.Contains(line, "phone=") {
			assert.NotContains(t, line, "13800138000")
		}
	}
}
