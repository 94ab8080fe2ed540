#include "server/report_html.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/cleaning_rules.h"

namespace shardstream {
namespace {

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// 1234567 as "1,234,567".
std::string Count(uint64_t n) {
  std::string digits = absl::StrCat(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Share(uint64_t part, uint64_t whole) { return Escape(Percent(part, whole)); }

// A number cell that sorts by its value.
std::string NumCell(uint64_t n, const std::string& shown = "") {
  return absl::StrCat("<td class=\"n\" data-v=\"", n, "\">", shown.empty() ? Count(n) : shown,
                      "</td>");
}

constexpr const char* kStyle = R"css(
:root { --fg:#1d2330; --muted:#5d6675; --line:#e3e6eb; --bar:#3b6fd8; --bar2:#d8863b;
        --bg:#f6f7f9; --card:#fff; --only:#fff1c7; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
       color:var(--fg); background:var(--bg); }
header { background:#1d2330; color:#fff; padding:22px 32px; }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; color:#c5cad3; font-size:13px; }
nav { padding:8px 32px; background:#fff; border-bottom:1px solid var(--line); font-size:14px; }
nav a { margin-right:16px; color:var(--bar); text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:20px 32px 48px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
          padding:16px 20px; margin:18px 0; }
h2 { margin:0 0 10px; font-size:19px; }
h3 { margin:16px 0 8px; font-size:16px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(170px,1fr)); gap:12px;
         background:none; border:none; padding:0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px;
        padding:12px 14px; }
.card .v { font-size:22px; font-weight:600; }
.card .k { color:var(--muted); font-size:13px; }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:18px; }
@media (max-width: 900px) { .grid2 { grid-template-columns:1fr; } }
table { border-collapse:collapse; width:100%; font-size:14px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line);
         vertical-align:top; }
th { color:var(--muted); font-weight:600; white-space:nowrap; }
table.sortable th { cursor:pointer; }
table.sortable th:after { content:" \2195"; color:#b7bdc7; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.muted { color:var(--muted); }
pre { margin:0; padding:8px 10px; background:#f8f9fb; border:1px solid var(--line);
      border-radius:6px;
      font:12px/1.4 "DejaVu Sans Mono",ui-monospace,monospace; overflow:auto; max-height:420px;
      white-space:pre; }
pre .only { background:var(--only); display:inline-block; min-width:100%; }
.pair { display:grid; grid-template-columns:1fr 1fr; gap:10px; margin:8px 0 18px; }
.pair > div, .grid2 > div { min-width:0; }
td { overflow-wrap:anywhere; }
.pair .label { font-size:13px; margin-bottom:4px; word-break:break-all; }
details { margin:4px 0; } summary { cursor:pointer; color:var(--bar); }
svg text { font-size:12px; fill:var(--fg); }
svg .bar { fill:var(--bar); } svg .bar2 { fill:var(--bar2); }
.tag { display:inline-block; padding:1px 7px; border-radius:10px; background:#e8eefc; margin:2px;
       font-size:12px; }
.tag.no { background:#fbe9e7; }
)css";

// Inline, so the page needs nothing else: counts script errors and requests the
// Content-Security-Policy blocked (the test reads both), and makes tables with class
// "sortable" sortable by clicking a header.
constexpr const char* kErrorCounter =
    "<script>(function(){var b=document.body;function count(k){b.dataset[k]="
    "String(Number(b.dataset[k])+1);}window.addEventListener('error',function(){"
    "count('scriptErrors');});document.addEventListener('securitypolicyviolation',function(){"
    "count('blockedRequests');});})();</script>";
constexpr const char* kSortScript = R"js(<script>
(function () {
  function key(cell) {
    var v = cell.getAttribute('data-v');
    return v !== null ? Number(v) : cell.textContent.trim().toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, column) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var ascending = th.getAttribute('data-order') !== 'asc';
        rows.sort(function (a, b) {
          var x = key(a.cells[column]), y = key(b.cells[column]);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        th.setAttribute('data-order', ascending ? 'asc' : 'desc');
      });
    });
  });
  document.body.dataset.ready = '1';
})();
</script>)js";

// A horizontal bar chart: one row per (label, value), bars scaled to the largest value.
std::string BarChart(const std::vector<std::pair<std::string, uint64_t>>& rows, uint64_t total,
                     const char* bar_class = "bar") {
  constexpr int kLabel = 140, kBars = 290, kValue = 110, kRow = 22;
  uint64_t max = 1;
  for (const auto& [label, v] : rows) max = std::max(max, v);
  const int height = static_cast<int>(rows.size()) * kRow + 4;
  // Scales down to its column; never up.
  std::string svg = absl::StrFormat(
      "<svg role=\"img\" width=\"100%%\" style=\"max-width:%dpx\" viewBox=\"0 0 %d %d\" "
      "preserveAspectRatio=\"xMinYMin meet\">",
      kLabel + kBars + kValue, kLabel + kBars + kValue, height);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [label, v] = rows[i];
    const int y = static_cast<int>(i) * kRow + 2;
    const int w = v == 0 ? 0 : std::max(1, static_cast<int>(kBars * static_cast<double>(v) / max));
    absl::StrAppendFormat(
        &svg,
        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
        "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"2\">"
        "<title>%s: %s (%s)</title></rect>"
        "<text x=\"%d\" y=\"%d\">%s · %s</text>",
        kLabel - 8, y + 15, Escape(label), bar_class, kLabel, y + 3, w, kRow - 6, Escape(label),
        Count(v), Share(v, total), kLabel + w + 6, y + 15, Count(v), Share(v, total));
  }
  return svg + "</svg>";
}

std::string HistogramChart(const std::string& title, const Histogram& h, uint64_t total,
                           const std::string& unit) {
  std::vector<std::pair<std::string, uint64_t>> rows;
  for (size_t i = 0; i < h.counts.size(); ++i) rows.push_back({BucketLabel(h, i), h.counts[i]});
  return absl::StrCat("<div><h3>", Escape(title), " <span class=\"muted\">(", Escape(unit),
                      ")</span></h3>", BarChart(rows, total), "</div>");
}

std::string Card(const std::string& value, const std::string& key, const std::string& id = "") {
  return absl::StrCat("<div class=\"card\"><div class=\"v\"",
                      id.empty() ? "" : " id=\"" + id + "\"", ">", value, "</div><div class=\"k\">",
                      Escape(key), "</div></div>");
}

// An example text; lines not in `other` (when given) are highlighted.
std::string ExampleText(const ReportExample& e, const std::set<std::string>* other = nullptr) {
  if (e.text.empty() && e.text_bytes > 0) {
    return "<pre class=\"muted\">(the corpus file could not be read)</pre>";
  }
  std::string out = "<pre>";
  size_t start = 0;
  while (start < e.text.size()) {
    size_t end = e.text.find('\n', start);
    if (end == std::string::npos) end = e.text.size();
    const std::string line = e.text.substr(start, end - start);
    const bool only = other != nullptr && other->count(line) == 0;
    absl::StrAppend(&out, only ? "<span class=\"only\">" : "", Escape(line), only ? "</span>" : "",
                    "\n");
    start = end + 1;
  }
  if (e.truncated) absl::StrAppend(&out, "<span class=\"muted\">…</span>");
  return out + "</pre>";
}

std::set<std::string> LinesOf(const std::string& text) {
  std::set<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.insert(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void Overview(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  const v1::NearDedupRecord& near = s.near_dedup.record;
  absl::StrAppend(
      out, "<section class=\"cards\">", Card(Count(s.docs), "documents", "docs-count"),
      Card(Escape(HumanBytes(s.text_bytes)), "of text"),
      Card(Count(s.files), absl::StrCat("files, ", HumanBytes(s.compressed_bytes), " on disk")),
      Card(Count(s.unique_docs),
           absl::StrCat("unique texts (", Percent(s.unique_docs, s.docs), ")"), "unique-count"),
      Card(Count(s.duplicate_docs),
           absl::StrCat("exact duplicates (", Percent(s.duplicate_docs, s.docs), ")"),
           "exact-duplicates"),
      Card(s.near_dedup.state == "not run" ? "–" : Count(near.near_duplicate_docs()),
           s.near_dedup.state == "not run"
               ? std::string("near duplicates: run shardstream dedup")
               : absl::StrCat("near duplicates (", s.near_dedup.state, ")"),
           "near-duplicates"),
      Card(Count(s.codeparrot_clean_docs), "kept by codeparrot-clean"),
      Card(Count(s.bad_lines), absl::StrCat("bad lines, ", s.damaged_files, " damaged files")),
      "</section>");
}

void SizeAndQuality(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  absl::StrAppend(
      out, "<section id=\"sizes\"><h2>Document sizes and quality signals</h2>",
      "<div class=\"grid2\">",
      HistogramChart("Document size", s.doc_bytes, s.docs, "bytes of text"),
      HistogramChart("Longest line", s.max_line_chars, s.docs, "characters"),
      HistogramChart("Mean line length", s.mean_line_chars, s.docs, "characters"),
      HistogramChart("ASCII letters and digits", s.alnum_percent, s.docs, "% of characters"),
      "</div></section>");
}

void Cleaning(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  absl::StrAppend(out, "<section id=\"cleaning\"><h2>What each cleaning rule drops</h2>",
                  "<p class=\"muted\">Over all documents (docs/quality.md). Presets: "
                  "<b>codeparrot-clean</b> keeps ",
                  Count(s.codeparrot_clean_docs), " documents (",
                  Escape(HumanBytes(s.codeparrot_clean_bytes)), ").</p>",
                  "<table class=\"sortable\" id=\"rules\"><thead><tr><th>rule</th><th>definition"
                  "</th><th class=\"n\">documents</th><th class=\"n\">share</th><th class=\"n\">"
                  "bytes</th></tr></thead><tbody>");
  for (const CorpusReport::Rule& rule : r.rules) {
    absl::StrAppend(out, "<tr><td>", Escape(rule.name), "<br><span class=\"muted\">",
                    Escape(rule.description), "</span></td><td><code>", Escape(rule.definition),
                    "</code></td>", NumCell(rule.docs), "<td class=\"n\" data-v=\"", rule.docs,
                    "\">", Share(rule.docs, s.docs), "</td>",
                    NumCell(rule.bytes, Escape(HumanBytes(rule.bytes))), "</tr>");
  }
  absl::StrAppend(out, "</tbody></table>");
  for (const CorpusReport::Rule& rule : r.rules) {
    if (rule.examples.empty()) continue;
    absl::StrAppend(out, "<details><summary>", Escape(rule.name), ": ", rule.examples.size(),
                    " example", rule.examples.size() == 1 ? "" : "s", "</summary>");
    for (const ReportExample& e : rule.examples) {
      absl::StrAppend(out, "<div class=\"label\">", Escape(e.label), " <span class=\"muted\">(",
                      Escape(HumanBytes(e.text_bytes)), ")</span></div>", ExampleText(e));
    }
    absl::StrAppend(out, "</details>");
  }
  absl::StrAppend(out, "</section>");
}

void LicensesAndRepos(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  std::vector<std::pair<std::string, uint64_t>> licenses;
  for (const auto& [name, n] : s.licenses) licenses.push_back({name.empty() ? "(none)" : name, n});
  std::sort(licenses.begin(), licenses.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  if (licenses.size() > 15) licenses.resize(15);
  absl::StrAppend(out, "<section id=\"licenses\"><div class=\"grid2\"><div><h2>Licences</h2>",
                  BarChart(licenses, s.docs, "bar2"), "</div><div><h2>Top repositories</h2>",
                  "<p class=\"muted\">", Count(s.distinct_repos), " distinct repositories</p>",
                  "<table class=\"sortable\" id=\"repos\"><thead><tr><th>repository</th>"
                  "<th class=\"n\">documents</th><th class=\"n\">share</th></tr></thead><tbody>");
  for (const auto& [repo, n] : s.top_repos) {
    absl::StrAppend(out, "<tr><td>", Escape(repo), "</td>", NumCell(n), "<td class=\"n\" data-v=\"",
                    n, "\">", Share(n, s.docs), "</td></tr>");
  }
  absl::StrAppend(out, "</tbody></table></div></div></section>");
}

void Duplicates(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  absl::StrAppend(out, "<section id=\"duplicates\"><h2>Duplicates</h2><h3>Exact</h3><p>",
                  Count(s.duplicate_docs), " documents (", Share(s.duplicate_docs, s.docs), ", ",
                  Escape(HumanBytes(s.duplicate_bytes)),
                  ") repeat the text of an earlier one; plans keep the first copy.</p>");
  for (const CorpusReport::ExactGroup& g : r.exact_groups) {
    absl::StrAppend(out, "<details><summary>", Count(g.copies), " copies of ",
                    Escape(g.original.label), "</summary><p class=\"muted\">also ",
                    Escape(absl::StrJoin(g.copy_labels, ", ")),
                    g.copies > g.copy_labels.size() + 1 ? ", …" : "", "</p>",
                    ExampleText(g.original), "</details>");
  }
  const v1::NearDedupRecord& near = s.near_dedup.record;
  absl::StrAppend(out, "<h3>Near duplicates</h3>");
  if (s.near_dedup.state == "not run") {
    absl::StrAppend(out,
                    "<p class=\"muted\">Not searched yet: run <code>shardstream dedup --db "
                    "…</code> and write the report again.</p></section>");
    return;
  }
  absl::StrAppend(out, "<p>", Count(near.near_duplicate_docs()), " documents (",
                  Share(near.near_duplicate_docs(), s.docs), ", ",
                  Escape(HumanBytes(near.near_duplicate_bytes())), ") in ",
                  Count(near.near_duplicate_clusters()),
                  " clusters are near duplicates of an earlier document: MinHash Jaccard ≥ ",
                  absl::StrFormat("%g", near.threshold()), " over ", near.ngram(),
                  "-word shingles (", near.permutations(), " values, ", near.bands(), " bands × ",
                  near.rows(), " rows). <b>near-dedup</b> filters keep the first of each cluster.",
                  s.near_dedup.state == "stale"
                      ? " <b>Stale</b>: files changed since; run <code>shardstream dedup</code>."
                      : "",
                  "</p><table class=\"sortable\" id=\"clusters\"><thead><tr><th class=\"n\">"
                  "documents</th><th>kept</th><th>others (first few)</th><th class=\"n\">bytes "
                  "saved</th></tr></thead><tbody>");
  for (const CorpusStats::NearDedup::Cluster& c : s.near_dedup.largest) {
    absl::StrAppend(out, "<tr>", NumCell(c.size), "<td>", Escape(c.representative), "</td><td>",
                    Escape(absl::StrJoin(c.members, ", ")),
                    c.size > c.members.size() + 1 ? ", …" : "", "</td>",
                    NumCell(c.bytes, Escape(HumanBytes(c.bytes))), "</tr>");
  }
  absl::StrAppend(out, "</tbody></table>");
  for (const CorpusReport::NearPair& p : r.near_pairs) {
    const std::set<std::string> a = LinesOf(p.representative.text), b = LinesOf(p.member.text);
    absl::StrAppend(out, "<h3>A cluster of ", Count(p.cluster_size),
                    absl::StrFormat(": Jaccard %.2f estimated", p.estimated_jaccard),
                    p.exact_jaccard >= 0 ? absl::StrFormat(", %.2f exact", p.exact_jaccard) : "",
                    " <span class=\"muted\">(highlighted lines are not in the other)</span></h3>",
                    "<div class=\"pair\"><div><div class=\"label\">kept: ",
                    Escape(p.representative.label), "</div>", ExampleText(p.representative, &b),
                    "</div><div><div class=\"label\">dropped: ", Escape(p.member.label), "</div>",
                    ExampleText(p.member, &a), "</div></div>");
  }
  absl::StrAppend(out, "</section>");
}

void Sources(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  if (s.sources.size() < 2) return;
  absl::StrAppend(out,
                  "<section id=\"sources\"><h2>Sources</h2><table class=\"sortable\">"
                  "<thead><tr><th>source</th><th class=\"n\">files</th><th class=\"n\">"
                  "documents</th><th class=\"n\">share</th></tr></thead><tbody>");
  for (const auto& [name, source] : s.sources) {
    absl::StrAppend(out, "<tr><td>", Escape(name), "</td>", NumCell(source.files),
                    NumCell(source.docs), "<td class=\"n\" data-v=\"", source.docs, "\">",
                    Share(source.docs, s.docs), "</td></tr>");
  }
  absl::StrAppend(out, "</tbody></table></section>");
}

void Tokenizers(const CorpusReport& r, std::string* out) {
  absl::StrAppend(out, "<section id=\"tokenizers\"><h2>Tokenizers on this corpus</h2>");
  if (r.tokenizers.empty()) {
    absl::StrAppend(out,
                    "<p class=\"muted\">None tokenized yet: run <code>shardstream tokenize"
                    "</code>.</p></section>");
    return;
  }
  absl::StrAppend(out,
                  "<table class=\"sortable\" id=\"tokenizer-fit\"><thead><tr><th>tokenizer"
                  "</th><th class=\"n\">vocabulary</th><th class=\"n\">bytes / token</th>"
                  "<th class=\"n\">tokens / doc (mean)</th><th class=\"n\">median</th>"
                  "<th class=\"n\">p90</th><th class=\"n\">vocabulary unused</th>"
                  "<th class=\"n\">keywords as 1 token</th></tr></thead><tbody>");
  for (const CorpusReport::TokenizerFit& t : r.tokenizers) {
    absl::StrAppend(
        out, "<tr><td>", Escape(t.name), t.complete ? "" : " <b>(incomplete)</b>", "</td>",
        NumCell(t.vocab_size), "<td class=\"n\" data-v=\"", t.bytes_per_token, "\">",
        absl::StrFormat("%.2f", t.bytes_per_token), "</td>", "<td class=\"n\" data-v=\"",
        t.mean_tokens_per_doc, "\">", absl::StrFormat("%.0f", t.mean_tokens_per_doc), "</td>",
        NumCell(t.median_tokens_per_doc), NumCell(t.p90_tokens_per_doc),
        "<td class=\"n\" data-v=\"", t.unused_vocabulary, "\">",
        absl::StrFormat("%.1f%%", 100 * t.unused_vocabulary), "</td>", "<td class=\"n\" data-v=\"",
        t.single_token_keywords.size(), "\">", t.single_token_keywords.size(), " of ",
        t.single_token_keywords.size() + t.split_keywords.size(), "</td></tr>");
  }
  absl::StrAppend(out, "</tbody></table>");
  for (const CorpusReport::TokenizerFit& t : r.tokenizers) {
    absl::StrAppend(out, "<h3>", Escape(t.name), "</h3><p class=\"muted\">", Count(t.tokens),
                    " tokens over ", Count(t.docs), " documents; vocabulary use counted over ",
                    Count(t.sampled_docs), " documents (", Count(t.sampled_tokens), " tokens, ",
                    Count(t.distinct_ids_seen),
                    " distinct ids). Python keywords after a space:</p><div>");
    for (const std::string& k : t.single_token_keywords) {
      absl::StrAppend(out, "<span class=\"tag\">", Escape(k), "</span>");
    }
    for (const std::string& k : t.split_keywords) {
      absl::StrAppend(out, "<span class=\"tag no\" title=\"more than one token\">", Escape(k),
                      "</span>");
    }
    absl::StrAppend(out, "</div>");
  }
  absl::StrAppend(out, "</section>");
}

void Files(const CorpusReport& r, std::string* out) {
  const CorpusStats& s = r.stats;
  std::vector<std::pair<std::string, uint64_t>> formats(s.files_by_compression.begin(),
                                                        s.files_by_compression.end());
  std::vector<std::pair<std::string, uint64_t>> kinds(s.bad_lines_by_kind.begin(),
                                                      s.bad_lines_by_kind.end());
  absl::StrAppend(out,
                  "<section id=\"files\"><h2>Files and bad input</h2><div class=\"grid2\">"
                  "<div><h3>Files by compression</h3>",
                  BarChart(formats, s.files), "<p>", Count(s.damaged_files), " damaged, ",
                  Count(s.empty_files), " empty, ", Count(s.files_with_bad_lines),
                  " with bad lines; ", Escape(HumanBytes(s.decoded_bytes)),
                  " decoded.</p></div><div><h3>Bad lines by kind</h3>",
                  kinds.empty() ? std::string("<p class=\"muted\">none</p>")
                                : BarChart(kinds, s.bad_lines, "bar2"),
                  "</div></div>");
  if (!r.read_errors.empty()) {
    absl::StrAppend(
        out, "<p>Examples could not be read from ", r.read_errors.size(),
        " files (changed since indexing?): ", Escape(absl::StrJoin(r.read_errors, "; ")), "</p>");
  }
  absl::StrAppend(out, "</section>");
}

}  // namespace

std::string RenderReportHtml(const CorpusReport& report, const std::string& title_dir) {
  const CorpusStats& s = report.stats;
  std::string out = absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      // Nothing may be fetched: no network, no other file.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
      "<title>shardstream report: ",
      Escape(title_dir), "</title><style>", kStyle,
      "</style></head>"
      "<body data-script-errors=\"0\" data-blocked-requests=\"0\">",
      kErrorCounter, "<header><h1>What is inside ", Escape(title_dir), "</h1><p>dataset version ",
      Escape(s.version_hex), " · text field “", Escape(s.text_field), "” · ", s.partitions,
      " partition", s.partitions == 1 ? "" : "s", " (", s.held_partitions.size(),
      " held) · written by <code>shardstream report</code></p></header>"
      "<nav><a href=\"#sizes\">sizes</a><a href=\"#cleaning\">cleaning</a>"
      "<a href=\"#licenses\">licences &amp; repositories</a><a href=\"#duplicates\">duplicates</a>",
      s.sources.size() > 1 ? "<a href=\"#sources\">sources</a>" : "",
      "<a href=\"#tokenizers\">tokenizers</a><a href=\"#files\">files</a></nav><main>");
  Overview(report, &out);
  SizeAndQuality(report, &out);
  Cleaning(report, &out);
  LicensesAndRepos(report, &out);
  Duplicates(report, &out);
  Sources(report, &out);
  Tokenizers(report, &out);
  Files(report, &out);
  absl::StrAppend(&out, "</main>", kSortScript, "</body></html>\n");
  return out;
}

}  // namespace shardstream
