// The HTML page of `shardstream report` (docs/report.md): one self-contained file — inline
// CSS, SVG charts drawn here and a few lines of inline script to sort tables — that loads
// nothing (its Content-Security-Policy forbids any request).
#ifndef SHARDSTREAM_SERVER_REPORT_HTML_H_
#define SHARDSTREAM_SERVER_REPORT_HTML_H_

#include <string>

#include "server/corpus_report.h"

namespace shardstream {

// `title_dir` names the catalog in the page's header.
std::string RenderReportHtml(const CorpusReport& report, const std::string& title_dir);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_REPORT_HTML_H_
