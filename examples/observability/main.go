// Command observability wires gmfield's driver to the OpenTelemetry SDK
// with a Prometheus exporter: it writes and reads an encrypted SQLite
// citizen table as several roles, with one refused statement and one
// value that does not open, and serves the resulting counters on
// http://ADDR/metrics until interrupted. gmfield itself depends only on
// the OpenTelemetry API; this program brings the SDK.
//
//	cd examples/observability && go run . [-listen 127.0.0.1:9464] [-once]
//
// Then: curl -s http://127.0.0.1:9464/metrics | grep ^gmfield
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	_ "modernc.org/sqlite"

	"github.com/gmfield/gmfield/keyring/local"
	"github.com/gmfield/gmfield/sqldriver"
	"github.com/gmfield/gmfield/sqldriver/config"
)

const configYAML = `keyring: {provider: local-sm4, dir: ./keys}
tables:
  citizen:
    row_key: id
    columns:
      id_no: {mask: id_card, index: {id_no_bidx: full}}
      phone: {mask: mobile, index: {phone_bidx: full}}
      name:  {mask: chinese_name}
roles:
  admin:   {default: plain}
  clerk:   {default: mask}
  analyst: {default: hash}
  default: {default: "null"}
`

func main() {
	listen := flag.String("listen", "127.0.0.1:9464", "address of the Prometheus endpoint")
	once := flag.Bool("once", false, "print the gmfield metrics and exit instead of serving")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, *listen, *once, nil); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

// run sets up the SDK and the endpoint on listen, runs the workload, and
// serves until ctx ends (or, with once, prints the scrape and returns).
// ready, if set, receives the endpoint's URL once the workload has run.
func run(ctx context.Context, out io.Writer, listen string, once bool, ready chan<- string) error {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	// The driver and the key ring (which config.Parse builds) both take
	// the global provider unless told otherwise (sqldriver.Config's
	// MeterProvider, keyring.WithMeterProvider).
	otel.SetMeterProvider(mp)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/metrics"

	dir, err := os.MkdirTemp("", "gmfield-observability-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := workload(ctx, dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "metrics: %s\n", url)
	if ready != nil {
		ready <- url
	}
	if once {
		return printScrape(out, url)
	}
	<-ctx.Done()
	return nil
}

// workload writes three citizens and reads them as each role: values
// sealed, opened, masked, hashed and nulled; two blind-index lookups; an
// ORDER BY on an encrypted column, refused; and a value moved to another
// row behind the driver's back, which does not open.
func workload(ctx context.Context, dir string) error {
	if _, err := local.Init(ctx, filepath.Join(dir, "keys"), local.KEKConfig{Kind: "sm4"}); err != nil {
		return err
	}
	cfg, err := config.Parse([]byte(configYAML), dir)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil)) // refusals and open failures, never a value
	path := filepath.Join(dir, "citizen.db")
	db, err := sqldriver.Open("sqlite", path, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	admin := sqldriver.WithRoles(ctx, "app", "admin")
	if _, err := db.ExecContext(admin, `CREATE TABLE citizen (id INTEGER PRIMARY KEY, id_no TEXT, id_no_bidx TEXT, phone TEXT, phone_bidx TEXT, name TEXT)`); err != nil {
		return err
	}
	for i, c := range [][3]string{{"11010519491231002X", "13800138000", "张三"}, {"440301198807071234", "13912345678", "李四"}, {"310101200001010012", "18600001234", "欧阳娜娜"}} {
		if _, err := db.ExecContext(admin, `INSERT INTO citizen (id, id_no, phone, name) VALUES (?, ?, ?, ?)`, 1001+i, c[0], c[1], c[2]); err != nil {
			return err
		}
	}
	for _, role := range []string{"admin", "clerk", "analyst", "visitor"} {
		rows, err := db.QueryContext(sqldriver.WithRoles(ctx, "app", role), `SELECT id, id_no, phone, name FROM citizen`)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
	}
	clerk := sqldriver.WithRoles(ctx, "app", "clerk")
	var name string
	for _, phone := range []string{"13912345678", "18600001234"} {
		if err := db.QueryRowContext(clerk, `SELECT name FROM citizen WHERE phone = ?`, phone).Scan(&name); err != nil {
			return err
		}
	}
	if _, err := db.QueryContext(admin, `SELECT id FROM citizen ORDER BY phone`); !errors.Is(err, sqldriver.ErrRefused) {
		return fmt.Errorf("ORDER BY phone: want a refusal, got %v", err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer raw.Close()
	if _, err := raw.ExecContext(ctx, `UPDATE citizen SET name = (SELECT name FROM citizen WHERE id = 1001) WHERE id = 1002`); err != nil {
		return err
	}
	if err := db.QueryRowContext(admin, `SELECT name FROM citizen WHERE id = 1002`).Scan(&name); !errors.Is(err, sqldriver.ErrOpen) {
		return fmt.Errorf("moved value: want ErrOpen, got %v", err)
	}
	return nil
}

func printScrape(out io.Writer, url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(out, resp.Body)
	return err
}
