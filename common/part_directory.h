// Who holds which part: the reports of several holders (servers, or local catalogs) for one
// plan, checked for agreement and coverage. The client and the embedded multi-catalog stream
// both build one, so both refuse the same inconsistent deployments with the same message.
#ifndef SHARDSTREAM_COMMON_PART_DIRECTORY_H_
#define SHARDSTREAM_COMMON_PART_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/stream_plan.h"

namespace shardstream {

// What one holder says about one plan.
struct HolderReport {
  std::string holder;               // address or catalog directory, for messages
  uint32_t partitions = 1;          // P of its dataset
  std::vector<uint32_t> held;       // the partitions it holds, ascending
  std::vector<PartSize> parts;      // the parts (with documents) of those partitions
  Hash128 tokenizer;                // the plan's tokenizer fingerprint there
  uint32_t token_bytes = 2;         // stored id width
  uint32_t eos_id = 0;
  uint32_t vocab_size = 0;
};

// Immutable once built.
class PartDirectory {
 public:
  // FAILED_PRECONDITION, naming the partition and holders, when: no report; holders disagree on
  // P or the tokenizer; two holders of a partition disagree on its parts (versions or sizes);
  // a partition is held by nobody.
  static absl::StatusOr<PartDirectory> Build(std::vector<HolderReport> reports);

  uint32_t partitions() const { return partitions_; }
  // Every part of the dataset, by key.
  std::vector<PartSize> parts() const;
  // The holders (indices into reports()) of `key`'s partition, in report order.
  const std::vector<size_t>& holders(uint32_t partition) const { return holders_[partition]; }
  const std::vector<HolderReport>& reports() const { return reports_; }

 private:
  std::vector<HolderReport> reports_;
  uint32_t partitions_ = 1;
  std::map<PartKey, PartSize> parts_;
  std::vector<std::vector<size_t>> holders_;  // by partition
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PART_DIRECTORY_H_
