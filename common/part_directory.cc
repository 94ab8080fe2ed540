#include "common/part_directory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace shardstream {

absl::StatusOr<PartDirectory> PartDirectory::Build(std::vector<HolderReport> reports) {
  if (reports.empty()) return absl::FailedPreconditionError("no holder of the dataset answered");
  PartDirectory d;
  d.partitions_ = reports[0].partitions;
  if (d.partitions_ < 1 || d.partitions_ > kMaxPartitions) {
    return absl::FailedPreconditionError(
        absl::StrCat(reports[0].holder, " reports ", d.partitions_, " partitions"));
  }
  d.holders_.resize(d.partitions_);
  // The first holder's view of each partition, to compare the others with.
  std::vector<const HolderReport*> first(d.partitions_, nullptr);
  std::vector<std::vector<PartSize>> by_partition_first(d.partitions_);
  for (size_t h = 0; h < reports.size(); ++h) {
    const HolderReport& r = reports[h];
    if (r.partitions != d.partitions_) {
      return absl::FailedPreconditionError(absl::StrCat(
          r.holder, " holds a dataset of ", r.partitions, " partitions but ", reports[0].holder,
          " one of ", d.partitions_, "; every holder must index with the same --partitions"));
    }
    if (r.tokenizer != reports[0].tokenizer || r.token_bytes != reports[0].token_bytes ||
        r.eos_id != reports[0].eos_id) {
      return absl::FailedPreconditionError(
          absl::StrCat(r.holder, " and ", reports[0].holder,
                       " hold different tokenizers under this name; tokenize with the same file"));
    }
    std::vector<std::vector<PartSize>> mine(d.partitions_);
    for (const PartSize& p : r.parts) {
      if (p.key.partition >= d.partitions_) {
        return absl::FailedPreconditionError(
            absl::StrCat(r.holder, " reports part ", p.key.ToString(), " beyond P"));
      }
      mine[p.key.partition].push_back(p);
    }
    for (uint32_t p : r.held) {
      if (p >= d.partitions_) {
        return absl::FailedPreconditionError(
            absl::StrCat(r.holder, " reports partition ", p, " beyond P = ", d.partitions_));
      }
      std::sort(mine[p].begin(), mine[p].end(),
                [](const PartSize& a, const PartSize& b) { return a.key < b.key; });
      if (first[p] == nullptr) {
        first[p] = &r;
        by_partition_first[p] = mine[p];
      } else if (mine[p] != by_partition_first[p]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "partition ", p, " differs between ", first[p]->holder, " and ", r.holder,
            " (other data versions or sizes); re-index one of them from the same corpus"));
      }
      d.holders_[p].push_back(h);
    }
  }
  std::vector<std::string> missing;
  for (uint32_t p = 0; p < d.partitions_; ++p) {
    if (d.holders_[p].empty()) missing.push_back(absl::StrCat(p));
  }
  if (!missing.empty()) {
    std::vector<std::string> names;
    for (const HolderReport& r : reports) names.push_back(r.holder);
    return absl::FailedPreconditionError(absl::StrCat(
        "partition", missing.size() > 1 ? "s " : " ",
        absl::StrJoin(missing.begin(), missing.begin() + std::min<size_t>(missing.size(), 16), ","),
        missing.size() > 16 ? ",..." : "", " of ", d.partitions_, " held by no reachable holder (",
        absl::StrJoin(names, ", "), "); start or reach a server that holds ",
        missing.size() > 1 ? "them" : "it"));
  }
  for (uint32_t p = 0; p < d.partitions_; ++p) {
    for (const PartSize& part : by_partition_first[p]) d.parts_.emplace(part.key, part);
  }
  d.reports_ = std::move(reports);
  return d;
}

std::vector<PartSize> PartDirectory::parts() const {
  std::vector<PartSize> out;
  for (const auto& [key, part] : parts_) out.push_back(part);
  return out;
}

}  // namespace shardstream
