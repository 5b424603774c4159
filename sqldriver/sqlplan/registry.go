package sqlplan

import (
	"sort"
	"strings"
	"sync"
)

var registry struct {
	sync.RWMutex
	byName  map[string]Dialect
	drivers []driverMatch
}

type driverMatch struct {
	path string
	d    Dialect
}

// Register makes d available under its Name and the aliases, and, for an
// inner database/sql driver whose Go type's package path contains one of
// driverPaths (such as "pgx" or "go-sql-driver/mysql"), chosen by Detect.
// Dialect packages register themselves when imported, as database/sql
// drivers do; importing the driver alone links no dialect. Register
// panics if a name is taken.
func Register(d Dialect, aliases []string, driverPaths ...string) {
	registry.Lock()
	defer registry.Unlock()
	if registry.byName == nil {
		registry.byName = map[string]Dialect{}
	}
	for _, n := range append([]string{d.Name()}, aliases...) {
		if _, dup := registry.byName[n]; dup {
			panic("gmfield/sqlplan: dialect " + n + " registered twice")
		}
		registry.byName[n] = d
	}
	for _, p := range driverPaths {
		registry.drivers = append(registry.drivers, driverMatch{strings.ToLower(p), d})
	}
}

// Lookup returns the dialect registered as name.
func Lookup(name string) (Dialect, bool) {
	registry.RLock()
	defer registry.RUnlock()
	d, ok := registry.byName[name]
	return d, ok
}

// Detect returns the dialect registered for a driver type whose package
// path and name (lower case, "github.com/jackc/pgx/v5/stdlib.driver")
// contains one of its driver paths; the longest match wins.
func Detect(typeName string) (Dialect, bool) {
	registry.RLock()
	defer registry.RUnlock()
	var best driverMatch
	for _, m := range registry.drivers {
		if strings.Contains(typeName, m.path) && len(m.path) > len(best.path) {
			best = m
		}
	}
	return best.d, best.d != nil
}

// Names returns the registered dialect names and aliases, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.byName))
	for n := range registry.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
