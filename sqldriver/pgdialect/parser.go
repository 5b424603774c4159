package pgdialect

import (
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgquery "github.com/wasilibs/go-pgquery"
)

// parserSlots bounds the statements parsed at once. go-pgquery keeps a
// pool of parser instances and makes a new one whenever none is idle;
// under wazero each new one compiles libpg_query again (seconds of CPU and
// tens of MB), so a burst of cold plans on a busy server would compile it
// once per concurrent statement. Plans are cached, so few parses wait.
var parserSlots = make(chan struct{}, maxParsers)

func parse(src string) (*pg.ParseResult, error) {
	ready()
	parserSlots <- struct{}{}
	defer func() { <-parserSlots }()
	return pgquery.Parse(src)
}

func scan(src string) (*pg.ScanResult, error) {
	ready()
	parserSlots <- struct{}{}
	defer func() { <-parserSlots }()
	return pgquery.Scan(src)
}

var warm sync.Once

// ready makes the first parser instance alone: wazero v1.12 caches its
// version in a global without synchronization when it makes its first
// runtime, so two first instances made at once race (go test -race saw
// it when the driver's Warm and a statement's parse started together).
func ready() {
	warm.Do(func() { _, _ = pgquery.Parse("SELECT 1") })
}

// Warm implements sqlplan.Warmer: it readies the parser (under wazero,
// compiles libpg_query) so that the first statement does not wait for
// it. The driver calls it in the background when a database is opened.
func (Dialect) Warm() { ready() }
