// The cheap per-document quality signals CodeParrot's cleaning uses (docs/quality.md defines
// each precisely; the Python tests recompute them independently).
#ifndef SHARDSTREAM_COMMON_QUALITY_SIGNALS_H_
#define SHARDSTREAM_COMMON_QUALITY_SIGNALS_H_

#include <string>
#include <string_view>

#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// Computes the signals of `text` (valid UTF-8). Not thread-safe: keeps a scratch buffer, so use
// one per thread.
class QualitySignalComputer {
 public:
  // How many leading lines the keyword markers look at (CodeParrot's scan_width).
  static constexpr int kScanLines = 5;
  // "config"/"test" count as frequent above int(kConfigTestPerLine * newlines) occurrences.
  static constexpr double kConfigTestPerLine = 0.05;
  // A document with at most this many '=' has "few assignments".
  static constexpr int kFewAssignments = 4;

  void Compute(std::string_view text, v1::QualitySignals* out);

 private:
  std::string lower_;  // ASCII-lowercased copy of the text being examined
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_QUALITY_SIGNALS_H_
