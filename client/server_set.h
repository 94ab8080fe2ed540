// The client's connections to a dataset's shard servers: one channel per address, unary calls
// with a per-attempt deadline, retry with backoff and jitter, failover between the holders of
// a partition, and cancellation of every call in flight. The Reader's fetch threads and its
// discovery share one ServerSet.
#ifndef SHARDSTREAM_CLIENT_SERVER_SET_H_
#define SHARDSTREAM_CLIENT_SERVER_SET_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client_security.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {

struct RetryPolicy {
  // Retrying gives up when no call succeeded for this long.
  absl::Duration retry_deadline = absl::Minutes(2);
  absl::Duration initial_backoff = absl::Milliseconds(50);  // doubles up to max_backoff
  absl::Duration max_backoff = absl::Seconds(2);
  // The longest one attempt may take: a hung server is then given up for another holder.
  absl::Duration attempt_timeout = absl::Seconds(30);
};

// Failures a retry (on the same server or another holder) can cure: UNAVAILABLE, ABORTED,
// CANCELLED (by a server shutting down or a dropped connection), UNKNOWN and INTERNAL
// (transport errors), DEADLINE_EXCEEDED (a hung server), and RESOURCE_EXHAUSTED only when it is
// the server's stream limit (kStreamLimitMessage) or its full thread pool
// (kThreadPoolExhaustedMessage): any other RESOURCE_EXHAUSTED — a message over a size limit,
// say — fails the same way every time.
bool IsRetryable(const grpc::Status& status);

// How a server's stream-limit refusal begins (a RESOURCE_EXHAUSTED a retry can cure).
inline constexpr char kStreamLimitMessage[] = "this server already serves";
// gRPC's refusal of a call when a synchronous server has no thread left for it (its
// ResourceQuota): a burst of calls, which a retry after a backoff gets through.
inline constexpr char kThreadPoolExhaustedMessage[] = "Server Threadpool Exhausted";

// The servers behind `addresses` (HOST:PORT each): a name that resolves to several addresses —
// a Kubernetes headless Service, say — stands for all of them ("IP:PORT" each, sorted); one
// that resolves to one address, or not at all (yet), stays as it is for gRPC to resolve. Names
// are resolved once, now. Duplicates are dropped.
std::vector<std::string> ExpandAddresses(const std::vector<std::string>& addresses);

// Thread-safe.
class ServerSet {
 public:
  // Channels to every address (ExpandAddresses) with `security` (client_security.h); with TLS
  // and no tls_server_name, the IPs a name resolved to are checked against that name.
  // INVALID_ARGUMENT when its files cannot be read or a token would travel in plaintext.
  // `metadata` is sent with every call (the reader's id, common/reader_metadata.h).
  static absl::StatusOr<std::unique_ptr<ServerSet>> Create(
      std::vector<std::string> addresses, RetryPolicy policy, const ClientSecurity& security,
      std::vector<std::pair<std::string, std::string>> metadata = {});

  size_t size() const { return addresses_.size(); }
  const std::string& address(size_t server) const { return addresses_[server]; }
  const RetryPolicy& policy() const { return policy_; }

  // One GetPlan attempt on `server` (deadline: attempt_timeout). The status carries the
  // server's address.
  grpc::Status GetPlan(size_t server, const v1::PlanRequest& request, v1::PlanResponse* response);
  // ReadSequences on one of `holders` (server indices; starting with holders[first % n]),
  // retried on the next holder after each retryable failure, with backoff, until retry_deadline
  // passes without any successful call of this set: then UNAVAILABLE naming the partition and
  // the last error. Non-retryable statuses return at once, with the server's address.
  absl::Status ReadSequences(const std::vector<size_t>& holders, size_t first, uint32_t partition,
                             const v1::SequencesRequest& request,
                             v1::SequencesResponse* response);

  // Sleeps a jittered `backoff`; false (at once) when the set is cancelled.
  bool Backoff(absl::Duration backoff);
  // Starts the retry deadline's clock now (as after a successful call).
  void MarkProgress();
  // Cancels every call in flight; later calls fail with CANCELLED at once. Idempotent.
  void Cancel();
  // Attempts that failed and were retried.
  uint64_t retries() const;

 private:
  ServerSet(std::vector<std::string> addresses, RetryPolicy policy);  // expanded already
  // Runs `call` with a fresh context registered for cancellation, its deadline at most
  // retry_deadline after max(last progress, `wanted_since`); nullopt when the set is (or gets)
  // cancelled.
  template <typename Call>
  std::optional<grpc::Status> Attempt(absl::Time wanted_since, Call call);

  const std::vector<std::string> addresses_;
  const RetryPolicy policy_;
  std::vector<std::unique_ptr<v1::ShardService::Stub>> stubs_;  // constant after construction
  std::vector<std::pair<std::string, std::string>> metadata_;   // constant after construction

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);
  uint64_t retries_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_SERVER_SET_H_
