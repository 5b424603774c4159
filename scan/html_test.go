package scan

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// corpusReport scans the corpus in SQLite.
func corpusReport(t *testing.T) *Report {
	t.Helper()
	db, _ := backends[0].open(t)
	loadCorpus(t, db, "sqlite", "")
	rep, err := Scan(context.Background(), db, Options{Dialect: "sqlite"})
	require.NoError(t, err)
	return rep
}

// TestReportHoldsNoValue checks every format of the report for every
// sampled value of a personal column: none appears in full.
func TestReportHoldsNoValue(t *testing.T) {
	rep := corpusReport(t)
	var md, html, js bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	require.NoError(t, rep.WriteHTML(&html))
	require.NoError(t, rep.WriteJSON(&js))
	tables, labels := generateCorpus()
	checked := 0
	for name, rows := range tables {
		for j, h := range rows[0] {
			col := h[:bytes.IndexByte([]byte(h), ':')]
			if labels[name+"."+col] == "" || labels[name+"."+col] == "uscc" {
				continue
			}
			for _, r := range rows[1:] {
				v := r[j]
				if len([]rune(v)) < 2 {
					continue
				}
				checked++
				for format, out := range map[string][]byte{"markdown": md.Bytes(), "html": html.Bytes(), "json": js.Bytes()} {
					if bytes.Contains(out, []byte(v)) {
						t.Fatalf("%s report holds %s.%s's value of row %s", format, name, col, r[0])
					}
				}
			}
		}
	}
	assert.Greater(t, checked, 5000)
	assert.Regexp(t, `\| 1\d\d(\\\*){4}\d{4}, `, md.String(), "masked examples are shown")
}

// TestHTMLReportRenders renders the HTML report in headless Chromium and
// checks the screenshot: a page of the expected size, not blank, with the
// sensitive-information tags' colour on it. The page is self-contained.
func TestHTMLReportRenders(t *testing.T) {
	rep := corpusReport(t)
	var html bytes.Buffer
	require.NoError(t, rep.WriteHTML(&html))
	for _, bad := range []string{`<script`, `<link`, `src=`, `http://`, `https://`, `@import`, `url(`} {
		assert.NotContains(t, html.String(), bad, "self-contained")
	}
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no Chromium installed (Debian: apt-get install chromium): the HTML report is not rendered")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	shot := filepath.Join(dir, "report.png")
	if out := os.Getenv("GMFIELD_SCAN_SCREENSHOT"); out != "" {
		shot = out // keep it to look at
	}
	require.NoError(t, os.WriteFile(page, html.Bytes(), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1400,1800", "--screenshot="+shot, "file://"+page)
	out, err := cmd.CombinedOutput()
	require.NoErrorf(t, err, "%s", out)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, 1400, b.Dx())
	assert.Equal(t, 1800, b.Dy())
	var nonWhite, red int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 240 || g>>8 < 240 || bl>>8 < 240 {
				nonWhite++
			}
			if r>>8 > 180 && g>>8 < 60 && bl>>8 < 70 { // #cf222e, the 敏感 tag
				red++
			}
		}
	}
	assert.Greater(t, nonWhite, 10000, "the page shows text and tables")
	assert.Greater(t, red, 20, "the sensitive tags are styled")
	assert.Regexp(t, regexp.MustCompile(`<h2>citizen</h2>`), html.String())
}
