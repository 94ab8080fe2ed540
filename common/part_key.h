// Partitions and sources: how a dataset is cut into parts.
//
// A dataset has P virtual partitions, fixed when it is first indexed. Every corpus file belongs
// to partition XXH3-64(relative path, seed 0) mod P — its path relative to the corpus root it
// was indexed from, '/'-separated, as bytes. Files are also labelled with a source name (one
// per corpus root; "default" unless named). A part is the documents of one partition of one
// source; streams interleave parts, and each sequence is packed inside one part, so whichever
// server holds the part can answer it.
//
// Persisted: the partition function is part of every catalog and stream. Never change it.
#ifndef SHARDSTREAM_COMMON_PART_KEY_H_
#define SHARDSTREAM_COMMON_PART_KEY_H_

#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace shardstream {

inline constexpr char kDefaultSource[] = "default";
// Most partitions a dataset may have.
inline constexpr uint32_t kMaxPartitions = 1u << 16;

struct PartKey {
  std::string source;
  uint32_t partition = 0;

  friend auto operator<=>(const PartKey&, const PartKey&) = default;
  friend bool operator==(const PartKey&, const PartKey&) = default;
  // "source/partition", as in messages and stats.
  std::string ToString() const;
};

// The partition of a file by its path relative to its corpus root. `partitions` >= 1.
uint32_t PartitionOfPath(absl::string_view relative_path, uint32_t partitions);

// Parses a partition set of a dataset of `partitions`: comma-separated ids and ranges
// ("0-2,5"), or "i/N" = every p with p mod N == i (N need not divide P), or "all". Returns the
// ids ascending, without repeats. INVALID_ARGUMENT names what is wrong.
absl::StatusOr<std::vector<uint32_t>> ParsePartitionSet(absl::string_view spec,
                                                        uint32_t partitions);
// The compact form of a set: "all", or ranges like "0-2,5".
std::string FormatPartitionSet(const std::vector<uint32_t>& ids, uint32_t partitions);

// A source name: 1–64 characters of [A-Za-z0-9_.-]. INVALID_ARGUMENT otherwise.
absl::Status ValidateSourceName(absl::string_view name);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PART_KEY_H_
