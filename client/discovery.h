// Discovery: what a Reader learns from the servers before it streams — who holds which
// partition, each part's size in the plan, and so the stream's plan, computed on the client
// with the same pure math the servers use (common/stream_plan.h).
#ifndef SHARDSTREAM_CLIENT_DISCOVERY_H_
#define SHARDSTREAM_CLIENT_DISCOVERY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/server_set.h"
#include "common/part_directory.h"
#include "common/stream_plan.h"
#include "shardstream/v1/shard_service.pb.h"

namespace shardstream {

struct Discovery {
  PartDirectory directory;
  std::vector<std::vector<size_t>> holders;  // by partition: server indices of its holders
  std::shared_ptr<const StreamPlan> plan;
  v1::TokenDtype dtype = v1::TOKEN_DTYPE_UINT16;  // resolved: never UNSPECIFIED
  uint32_t width = 2;                             // bytes per id of dtype
  uint64_t max_request_tokens = 0;  // the smallest ReadSequences limit among the servers
};

// The part of a StreamRequest that GetPlan and ReadSequences name.
v1::PlanRequest PlanRequestOf(const v1::StreamRequest& request);

// Asks every server for its plan (GetPlan); unreachable ones are asked again, with backoff,
// until the answers cover every partition or the retry deadline passes. A non-retryable answer
// (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ...) ends discovery at once, as do gaps or
// disagreements once every server answered (PartDirectory::Build says which); after the
// deadline: the directory's error, or UNAVAILABLE when no server answered.
absl::StatusOr<Discovery> Discover(ServerSet& servers, const v1::StreamRequest& request);

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_DISCOVERY_H_
