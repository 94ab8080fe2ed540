#include "common/part_key.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#define XXH_INLINE_ALL  // header-only: the plan library links no xxhash
#include <xxhash.h>

namespace shardstream {

std::string PartKey::ToString() const { return absl::StrCat(source, "/", partition); }

uint32_t PartitionOfPath(absl::string_view relative_path, uint32_t partitions) {
  const uint64_t h = XXH3_64bits_withSeed(relative_path.data(), relative_path.size(), 0);
  return static_cast<uint32_t>(h % std::max<uint32_t>(partitions, 1));
}

absl::StatusOr<std::vector<uint32_t>> ParsePartitionSet(absl::string_view spec,
                                                        uint32_t partitions) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition set \"", spec.substr(0, 64), "\": ", why,
        "; write ids and ranges like 0-2,5, or i/N for every p with p mod N == i, or all"));
  };
  if (partitions < 1 || partitions > kMaxPartitions) return bad("the dataset's P is out of range");
  std::set<uint32_t> ids;
  if (spec == "all") {
    for (uint32_t p = 0; p < partitions; ++p) ids.insert(p);
    return std::vector<uint32_t>(ids.begin(), ids.end());
  }
  if (std::vector<absl::string_view> ratio = absl::StrSplit(spec, '/'); ratio.size() == 2) {
    uint32_t i, n;
    if (!absl::SimpleAtoi(ratio[0], &i) || !absl::SimpleAtoi(ratio[1], &n) || n < 1 || i >= n) {
      return bad("i/N needs integers 0 <= i < N");
    }
    for (uint32_t p = i; p < partitions; p += n) ids.insert(p);
    if (ids.empty()) return bad(absl::StrCat("selects none of the ", partitions, " partitions"));
    return std::vector<uint32_t>(ids.begin(), ids.end());
  }
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(item, absl::MaxSplits('-', 1));
    uint32_t first, last;
    if (!absl::SimpleAtoi(range[0], &first)) return bad(absl::StrCat("\"", item, "\" is not an id"));
    last = first;
    if (range.size() == 2 && (!absl::SimpleAtoi(range[1], &last) || last < first)) {
      return bad(absl::StrCat("\"", item, "\" is not a range a-b with a <= b"));
    }
    if (last >= partitions) {
      return bad(absl::StrCat("partition ", last, " does not exist (P = ", partitions, ")"));
    }
    for (uint32_t p = first; p <= last; ++p) ids.insert(p);
  }
  if (ids.empty()) return bad("empty");
  return std::vector<uint32_t>(ids.begin(), ids.end());
}

std::string FormatPartitionSet(const std::vector<uint32_t>& ids, uint32_t partitions) {
  if (ids.size() == partitions) return "all";
  std::vector<std::string> out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    out.push_back(j == i ? absl::StrCat(ids[i]) : absl::StrCat(ids[i], "-", ids[j]));
    i = j + 1;
  }
  return absl::StrJoin(out, ",");
}

absl::Status ValidateSourceName(absl::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                  });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("source name \"", name.substr(0, 64),
                   "\" must be 1-64 characters of letters, digits, '_', '.' or '-'"));
}

}  // namespace shardstream
