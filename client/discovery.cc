#include "client/discovery.h"

#include <grpcpp/grpcpp.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/mixture.h"

namespace shardstream {
namespace {

HolderReport ReportOf(const std::string& holder, const v1::PlanResponse& a) {
  HolderReport r;
  r.holder = holder;
  r.partitions = a.partitions();
  r.held.assign(a.held_partitions().begin(), a.held_partitions().end());
  for (const v1::PlanPart& p : a.parts()) {
    r.parts.push_back(PartSize{PartKey{p.source(), p.partition()},
                               Hash128{p.version_hi(), p.version_lo()}, p.docs(), p.tokens(),
                               p.sequences()});
  }
  r.tokenizer = Hash128{a.tokenizer_hi(), a.tokenizer_lo()};
  r.token_bytes = a.token_bytes();
  r.eos_id = a.eos_id();
  r.vocab_size = a.vocab_size();
  return r;
}

// The stream's dtype: as asked, or by vocabulary when UNSPECIFIED.
absl::StatusOr<v1::TokenDtype> ResolveDtype(const v1::StreamRequest& request, uint32_t vocab) {
  const v1::TokenDtype asked = request.dtype();
  if (!v1::TokenDtype_IsValid(asked)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", asked));
  }
  if (asked == v1::TOKEN_DTYPE_UNSPECIFIED) {
    return vocab <= 65536 ? v1::TOKEN_DTYPE_UINT16 : v1::TOKEN_DTYPE_INT32;
  }
  if (asked == v1::TOKEN_DTYPE_UINT16 && vocab > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("dtype UINT16 cannot hold the ids of tokenizer \"",
                                                   request.tokenizer().substr(0, 64), "\" (",
                                                   vocab, " ids); ask for INT32"));
  }
  return asked;
}

// The discovery from the answers so far. `*covered`: whether they form a directory of the
// whole dataset (after which no other answer can change the result).
absl::StatusOr<Discovery> FromAnswers(const ServerSet& servers, const v1::StreamRequest& request,
                                      const std::vector<std::optional<v1::PlanResponse>>& answers,
                                      bool* covered) {
  *covered = false;
  std::vector<HolderReport> reports;
  std::vector<size_t> report_server;
  std::optional<Hash128> filters;
  uint64_t max_request_tokens = UINT64_MAX;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].has_value()) continue;
    const v1::PlanResponse& a = *answers[i];
    const Hash128 f{a.filters_hi(), a.filters_lo()};
    if (filters.has_value() && *filters != f) {
      return absl::FailedPreconditionError(absl::StrCat(
          servers.address(i), " applies other filter rules than ",
          servers.address(report_server.front()), "; run the same shardstream version"));
    }
    filters = f;
    max_request_tokens = std::min<uint64_t>(max_request_tokens, a.max_batch_tokens());
    reports.push_back(ReportOf(servers.address(i), a));
    report_server.push_back(i);
  }
  if (reports.empty()) return absl::UnavailableError("no server answered");
  absl::StatusOr<PartDirectory> directory = PartDirectory::Build(std::move(reports));
  if (!directory.ok()) return directory.status();
  *covered = true;
  Discovery d;
  d.directory = std::move(*directory);
  d.holders.resize(d.directory.partitions());
  for (uint32_t p = 0; p < d.directory.partitions(); ++p) {
    for (size_t report : d.directory.holders(p)) d.holders[p].push_back(report_server[report]);
  }
  StreamParameters parameters;
  parameters.tokenizer = d.directory.reports()[0].tokenizer;
  parameters.filters = *filters;
  parameters.seq_len = request.seq_len();
  parameters.seed = request.seed();
  parameters.partitions = d.directory.partitions();
  absl::StatusOr<Mixture> mixture = Mixture::Parse(request.mix());
  if (!mixture.ok()) return mixture.status();
  parameters.mixture = *std::move(mixture);
  absl::StatusOr<std::shared_ptr<const StreamPlan>> plan =
      StreamPlan::Create(std::move(parameters), d.directory.parts());
  if (!plan.ok()) return plan.status();
  d.plan = std::move(*plan);
  absl::StatusOr<v1::TokenDtype> dtype = ResolveDtype(request, d.directory.reports()[0].vocab_size);
  if (!dtype.ok()) return dtype.status();
  d.dtype = *dtype;
  d.width = d.dtype == v1::TOKEN_DTYPE_UINT16 ? 2 : 4;
  d.max_request_tokens = max_request_tokens;
  return d;
}

}  // namespace

v1::PlanRequest PlanRequestOf(const v1::StreamRequest& request) {
  v1::PlanRequest out;
  out.set_tokenizer(request.tokenizer());
  out.set_seq_len(request.seq_len());
  out.set_no_dedup(request.no_dedup());
  out.set_filter_preset(request.filter_preset());
  return out;
}

absl::StatusOr<Discovery> Discover(ServerSet& servers, const v1::StreamRequest& request) {
  const v1::PlanRequest plan_request = PlanRequestOf(request);
  const absl::Time start = absl::Now();
  std::vector<std::optional<v1::PlanResponse>> answers(servers.size());
  absl::Duration backoff = servers.policy().initial_backoff;
  std::string last_error;
  while (true) {
    size_t answered = 0;
    for (size_t i = 0; i < servers.size(); ++i) {
      if (!answers[i].has_value()) {
        v1::PlanResponse response;
        grpc::Status s = servers.GetPlan(i, plan_request, &response);
        if (s.ok()) {
          answers[i] = std::move(response);
        } else if (!IsRetryable(s)) {
          return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
        } else {
          last_error = s.error_message();
        }
      }
      answered += answers[i].has_value();
    }
    bool covered;
    absl::StatusOr<Discovery> d = FromAnswers(servers, request, answers, &covered);
    // Done when the answers cover the dataset (the result is final, good or bad), or when every
    // server answered (waiting cannot fill a gap or settle a disagreement).
    if (covered || answered == servers.size()) return d;
    if (absl::Now() - start >= servers.policy().retry_deadline) {
      if (answered == 0) {
        return absl::UnavailableError(absl::StrCat(
            "no server answered within ", absl::FormatDuration(servers.policy().retry_deadline),
            "; last error from ", last_error,
            " (a server that is down or unreachable looks like this, and so does one that "
            "refuses this client's TLS: plaintext to a TLS server, a CA that did not sign its "
            "certificate, or a client certificate it does not accept)"));
      }
      return d.status();
    }
    if (!servers.Backoff(backoff)) return absl::CancelledError("the reader was closed");
    backoff = std::min(backoff * 2, servers.policy().max_backoff);
  }
}

}  // namespace shardstream
