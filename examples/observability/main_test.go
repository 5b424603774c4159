package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPrometheusScrape runs the workload, scrapes the endpoint over HTTP
// and checks the counters its known operations must give.
func TestPrometheusScrape(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, io.Discard, "127.0.0.1:0", false, ready) }()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the workload did not finish")
	}
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	samples := map[string]float64{}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		text.WriteString(line + "\n")
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, "gmfield") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		samples[stripScope(line[:i])] = v
	}
	require.NoError(t, sc.Err())
	want := map[string]float64{
		`gmfield_values_total{gmfield_action="sealed",gmfield_column="phone",gmfield_table="citizen"}`:            3,
		`gmfield_values_total{gmfield_action="opened",gmfield_column="phone",gmfield_table="citizen"}`:            3,
		`gmfield_values_total{gmfield_action="masked",gmfield_column="name",gmfield_table="citizen"}`:             5,
		`gmfield_values_total{gmfield_action="hashed",gmfield_column="id_no",gmfield_table="citizen"}`:            3,
		`gmfield_values_total{gmfield_action="nulled",gmfield_column="phone",gmfield_table="citizen"}`:            3,
		`gmfield_index_lookups_total{gmfield_column="phone",gmfield_index="full",gmfield_table="citizen"}`:        2,
		`gmfield_refusals_total{gmfield_column="phone",gmfield_reason="unsupported_use",gmfield_table="citizen"}`: 1,
		`gmfield_open_errors_total{gmfield_column="name",gmfield_kind="authentication",gmfield_table="citizen"}`:  1,
	}
	for k, v := range want {
		assert.Equal(t, v, samples[k], "%s\nscrape:\n%s", k, grepGmfield(text.String()))
	}
	assert.Positive(t, samples[`gmfield_plan_cache_total{gmfield_result="miss"}`])
	assert.Positive(t, samples[`gmfield_keyring_unwraps_total{gmfield_provider="local.SM4",gmfield_result="ok"}`], "the index root and DEKs were unwrapped")
	assert.Positive(t, samples[`gmfield_keyring_unwrap_duration_seconds_count{gmfield_provider="local.SM4"}`])
	for _, secret := range []string{"13800138000", "张三", "11010519491231002X", "app"} {
		assert.NotContains(t, grepGmfield(text.String()), secret, "no value or principal in the scrape")
	}
	cancel()
	require.NoError(t, <-done)
}

// stripScope drops the otel_scope_* labels the exporter adds.
func stripScope(s string) string {
	open := strings.IndexByte(s, '{')
	if open < 0 {
		return s
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimSuffix(s[open+1:], "}"), ",") {
		if !strings.HasPrefix(l, "otel_scope_") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return s[:open]
	}
	return s[:open] + "{" + strings.Join(keep, ",") + "}"
}

func grepGmfield(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "gmfield") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
