// Package yamlmap walks YAML mappings for the configuration loaders, which
// report each mistake with its line.
package yamlmap

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Pairs calls f for each key and value of the mapping n. A node that is
// not a mapping, or a key that appears twice, is reported through lineErr.
func Pairs(n *yaml.Node, lineErr func(n *yaml.Node, msg string) error, f func(k, v *yaml.Node) error) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "expected a mapping")
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return lineErr(k, fmt.Sprintf("key %q appears twice", k.Value))
		}
		seen[k.Value] = true
		if err := f(k, v); err != nil {
			return err
		}
	}
	return nil
}
