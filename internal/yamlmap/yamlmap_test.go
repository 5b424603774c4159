package yamlmap_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gmfield/gmfield/internal/yamlmap"
)

func TestPairs(t *testing.T) {
	lineErr := func(n *yaml.Node, msg string) error { return fmt.Errorf("%d: %s", n.Line, msg) }
	parse := func(s string) *yaml.Node {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(s), &doc))
		return doc.Content[0]
	}
	var keys []string
	require.NoError(t, yamlmap.Pairs(parse("a: 1\nb: 2\n"), lineErr, func(k, _ *yaml.Node) error {
		keys = append(keys, k.Value)
		return nil
	}))
	assert.Equal(t, []string{"a", "b"}, keys)
	assert.EqualError(t, yamlmap.Pairs(parse("a: 1\na: 2\n"), lineErr, func(_, _ *yaml.Node) error { return nil }), `2: key "a" appears twice`)
	assert.EqualError(t, yamlmap.Pairs(parse("- 1\n"), lineErr, nil), "1: expected a mapping")
	stop := errors.New("stop")
	assert.ErrorIs(t, yamlmap.Pairs(parse("a: 1\n"), lineErr, func(_, _ *yaml.Node) error { return stop }), stop)
}
