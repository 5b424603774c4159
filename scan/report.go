package scan

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for a data-security officer: a summary,
// then per table a row per column with its kind, grade, evidence and
// recommendation.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# 数据分类分级报告 · Classification and grading report\n\n")
	fmt.Fprintf(&b, "%s database%s, scanned %s in %s, sample of %d rows per table.\n\n", mdText(r.Dialect), mdText(inSchema(r.Schema)),
		r.Started.UTC().Format(time.RFC3339), r.Elapsed.Round(time.Millisecond), r.Sample)
	s := r.Summary
	fmt.Fprintf(&b, "| tables | columns | personal | sensitive | important (candidates) | to review | already encrypted |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d | %d |\n\n", s.Tables, s.Columns, s.Personal, s.Sensitive, s.Important, s.Review, s.Protected)
	fmt.Fprintf(&b, "Grades follow PIPL art. 28 and GB/T 43697-2024; the rules are in docs/classification.md. Examples are masked.\n")
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "\n## %s\n\n", mdText(t.Name))
		fmt.Fprintf(&b, "About %d rows, %d sampled", t.Rows, t.Sampled)
		if t.RowKey != "" {
			fmt.Fprintf(&b, ", row key %s", mdText(t.RowKey))
		}
		if t.Minors {
			fmt.Fprintf(&b, ". **Holds information of minors under 14: every personal column is sensitive**")
		}
		b.WriteString(".\n\n| column | type | kind | confidence | grade | level | evidence | examples | recommendation |\n|---|---|---|---:|---|---|---|---|---|\n")
		for _, c := range t.Columns {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdText(c.Name), mdText(c.Type), kindText(c), confText(c),
				mdText(gradeText(c.Grade)), mdText(levelText(c.Grade)), mdText(evidenceText(c)), mdText(strings.Join(c.Examples, ", ")), mdText(c.Recommendation))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes the report as one self-contained HTML page: no script,
// no external style sheet, font or image.
func (r *Report) WriteHTML(w io.Writer) error { return htmlReport.Execute(w, r) }

func inSchema(s string) string {
	if s == "" {
		return ""
	}
	return " (schema " + s + ")"
}

// mdText escapes a cell of a Markdown table.
func mdText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "*", `\*`, "`", "\\`").Replace(s)
}

func kindText(c Column) string {
	if c.Kind == "" {
		return "—"
	}
	s := string(c.Kind)
	if c.Review {
		s += " (review)"
	}
	return mdText(s)
}

func confText(c Column) string {
	if c.Kind == "" {
		return ""
	}
	return fmt.Sprintf("%.2f", c.Confidence)
}

func gradeText(g Grade) string {
	switch {
	case g.Sensitive:
		return "敏感个人信息 sensitive PI (" + g.Basis + "), " + g.Category
	case g.Personal:
		return "个人信息 PI, " + g.Category
	case g.Category != "":
		return "非个人信息 not PI, " + g.Category
	}
	return "非个人信息 not PI"
}

func levelText(g Grade) string {
	s := string(g.Level)
	if g.Sublevel > 0 {
		s += fmt.Sprintf(" %d", g.Sublevel)
	}
	if g.Candidate {
		s += " (candidate)"
	}
	return s
}

func evidenceText(c Column) string {
	var parts []string
	if c.Evidence.Values > 0 && c.Evidence.Matched > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d values match (%.0f%%)", c.Evidence.Matched, c.Evidence.Values, 100*c.Evidence.Share))
	}
	if len(c.Evidence.NameHint) > 0 {
		parts = append(parts, "name suggests "+kindList(c.Evidence.NameHint))
	}
	if c.Minors > 0 {
		parts = append(parts, fmt.Sprintf("%d sampled values of minors under 14", c.Minors))
	}
	parts = append(parts, c.Evidence.Notes...)
	return strings.Join(parts, "; ")
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"grade": gradeText, "level": levelText, "evidence": evidenceText,
	"when": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ms":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"join": strings.Join,
	"pct":  func(f float64) string { return fmt.Sprintf("%.2f", f) },
}).Parse(`<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据分类分级报告 · gmfield scan</title>
<style>
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .25rem}
.meta{color:#57606a;margin:.25rem 0 1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.sensitive td{background:#fff1f0}tr.personal td{background:#fffbe6}
.tag{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:12px;font-weight:600}
.s{background:#cf222e;color:#fff}.p{background:#bf8700;color:#fff}.n{background:#eaeef2;color:#57606a}.r{background:#0969da;color:#fff}.i{background:#8250df;color:#fff}
.minors{color:#cf222e;font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
</style></head><body>
<h1>数据分类分级报告 · Classification and grading report</h1>
<p class="meta">{{.Dialect}} database{{if .Schema}} (schema <code>{{.Schema}}</code>){{end}} · scanned {{when .Started}} in {{ms .Elapsed}} · sample of {{.Sample}} rows per table · examples are masked · rules: docs/classification.md (PIPL art. 28, GB/T 43697-2024)</p>
<table><tr><th>tables</th><th>columns</th><th>personal</th><th>sensitive</th><th>important (candidates)</th><th>to review</th><th>already encrypted</th></tr>
<tr>{{with .Summary}}<td class="num">{{.Tables}}</td><td class="num">{{.Columns}}</td><td class="num">{{.Personal}}</td><td class="num">{{.Sensitive}}</td><td class="num">{{.Important}}</td><td class="num">{{.Review}}</td><td class="num">{{.Protected}}</td>{{end}}</tr></table>
{{range .Tables}}
<h2>{{.Name}}</h2>
<p class="meta">about {{.Rows}} rows, {{.Sampled}} sampled{{if .RowKey}}, row key <code>{{.RowKey}}</code>{{end}}{{if .Minors}} · <span class="minors">holds information of minors under 14: every personal column is sensitive</span>{{end}}</p>
<table><tr><th>column</th><th>type</th><th>kind</th><th>confidence</th><th>grade</th><th>level</th><th>evidence</th><th>examples</th><th>recommendation</th></tr>
{{range .Columns}}<tr class="{{if .Grade.Sensitive}}sensitive{{else if .Grade.Personal}}personal{{end}}">
<td><code>{{.Name}}</code></td><td><code>{{.Type}}</code></td>
<td>{{if .Kind}}{{.Kind}}{{else}}—{{end}}{{if .Review}} <span class="tag r">review</span>{{end}}{{if .Protected}} <span class="tag n">encrypted</span>{{end}}</td>
<td class="num">{{if .Kind}}{{pct .Confidence}}{{end}}</td>
<td>{{if .Grade.Sensitive}}<span class="tag s">敏感</span>{{else if .Grade.Personal}}<span class="tag p">个人</span>{{else}}<span class="tag n">非个人</span>{{end}} {{grade .Grade}}</td>
<td title="{{.Grade.Rule}}">{{if .Grade.Candidate}}<span class="tag i">{{level .Grade}}</span>{{else}}{{level .Grade}}{{end}}{{if .Grade.Personal}}<br><small>{{.Grade.Rule}}</small>{{end}}</td>
<td>{{evidence .}}</td><td>{{join .Examples ", "}}</td><td>{{.Recommendation}}</td></tr>
{{end}}</table>
{{end}}
</body></html>
`))
