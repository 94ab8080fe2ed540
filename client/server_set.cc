#include "client/server_set.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>

#include <algorithm>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/channel.h"
#include "absl/time/clock.h"

namespace shardstream {

bool IsRetryable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StartsWith(status.error_message(), kStreamLimitMessage) ||
             status.error_message() == kThreadPoolExhaustedMessage;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> ExpandAddresses(const std::vector<std::string>& addresses) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](std::string a) {
    if (seen.insert(a).second) out.push_back(std::move(a));
  };
  for (const std::string& address : addresses) {
    const size_t colon = address.rfind(':');
    std::string host = colon == std::string::npos ? address : address.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::set<std::string> resolved;
    if (!port.empty() && getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0) {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN] = {};
        if (a->ai_family == AF_INET) {
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, text,
                    sizeof(text));
          resolved.insert(absl::StrCat(text, ":", port));
        } else if (a->ai_family == AF_INET6) {
          inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                    sizeof(text));
          resolved.insert(absl::StrCat("[", text, "]:", port));
        }
      }
      freeaddrinfo(found);
    }
    if (resolved.size() <= 1) {
      add(address);
    } else {
      for (const std::string& r : resolved) add(r);
    }
  }
  return out;
}

ServerSet::ServerSet(std::vector<std::string> addresses, RetryPolicy policy)
    : addresses_(std::move(addresses)), policy_(policy), last_progress_(absl::Now()) {}

absl::StatusOr<std::unique_ptr<ServerSet>> ServerSet::Create(
    std::vector<std::string> addresses, RetryPolicy policy, const ClientSecurity& security,
    std::vector<std::pair<std::string, std::string>> metadata) {
  // Each address expanded on its own, to remember the name an IP came from: with TLS, the
  // servers' certificates are checked against that name (a headless Service's), not the IP.
  std::vector<std::string> expanded;
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const std::string& address : addresses) {
    const std::vector<std::string> ips = ExpandAddresses({address});
    const std::string host = address.substr(0, address.rfind(':'));
    for (const std::string& ip : ips) {
      if (!seen.insert(ip).second) continue;
      expanded.push_back(ip);
      names.push_back(ip == address ? "" : host);
    }
  }
  auto set = std::unique_ptr<ServerSet>(new ServerSet(expanded, policy));
  set->metadata_ = std::move(metadata);
  for (size_t i = 0; i < expanded.size(); ++i) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);  // responses are bounded by the servers' limits
    SetClientKeepalive(&args);
    ClientSecurity own = security;
    if (own.tls() && own.tls_server_name.empty()) own.tls_server_name = names[i];
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(expanded[i], own, args);
    if (!channel.ok()) return channel.status();
    set->stubs_.push_back(v1::ShardService::NewStub(*channel));
  }
  return set;
}

namespace {

const grpc::Status& Closed() {
  static const grpc::Status* closed =
      new grpc::Status(grpc::StatusCode::CANCELLED, "the reader was closed");
  return *closed;
}

}  // namespace

template <typename Call>
std::optional<grpc::Status> ServerSet::Attempt(absl::Time wanted_since, Call call) {
  grpc::ClientContext context;
  for (const auto& [key, value] : metadata_) context.AddMetadata(key, value);
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return std::nullopt;
    // The retry deadline counts from the last progress (or from when this data was first
    // asked for, if later) also while this call is open.
    const absl::Time since = std::max(last_progress_, wanted_since);
    context.set_deadline(absl::ToChronoTime(
        std::min(absl::Now() + policy_.attempt_timeout, since + policy_.retry_deadline)));
    in_flight_.insert(&context);
  }
  grpc::Status s = call(&context);
  absl::MutexLock lock(&mu_);
  in_flight_.erase(&context);
  if (cancelled_) return std::nullopt;
  if (s.ok()) last_progress_ = absl::Now();
  return s;
}

grpc::Status ServerSet::GetPlan(size_t server, const v1::PlanRequest& request,
                                v1::PlanResponse* response) {
  std::optional<grpc::Status> s = Attempt(absl::InfinitePast(), [&](grpc::ClientContext* context) {
    return stubs_[server]->GetPlan(context, request, response);
  });
  if (!s.has_value()) return Closed();
  if (s->ok()) return *s;
  return grpc::Status(s->error_code(), absl::StrCat(addresses_[server], ": ", s->error_message()));
}

absl::Status ServerSet::ReadSequences(const std::vector<size_t>& holders, size_t first,
                                      uint32_t partition, const v1::SequencesRequest& request,
                                      v1::SequencesResponse* response) {
  absl::Duration backoff = policy_.initial_backoff;
  // A reader whose caller paused (a long evaluation step) asks again after a while: the retry
  // deadline counts from then, not from its last success before the pause.
  const absl::Time wanted_since = absl::Now();
  for (size_t attempt = first;; ++attempt) {
    const size_t server = holders[attempt % holders.size()];
    response->Clear();
    std::optional<grpc::Status> s = Attempt(wanted_since, [&](grpc::ClientContext* context) {
      return stubs_[server]->ReadSequences(context, request, response);
    });
    if (!s.has_value()) return absl::CancelledError(Closed().error_message());
    if (s->ok()) return absl::OkStatus();
    const std::string where = absl::StrCat(addresses_[server], ": ", s->error_message());
    if (!IsRetryable(*s)) {
      return absl::Status(static_cast<absl::StatusCode>(s->error_code()), where);
    }
    absl::Duration idle;
    {
      absl::MutexLock lock(&mu_);
      idle = absl::Now() - std::max(last_progress_, wanted_since);
      if (idle < policy_.retry_deadline) ++retries_;
    }
    if (idle >= policy_.retry_deadline) {
      return absl::UnavailableError(absl::StrCat(
          "no data for ", absl::FormatDuration(idle), " while retrying partition ", partition,
          " on ", holders.size(), " holder(s); last error from ", where));
    }
    if (!Backoff(backoff)) return absl::CancelledError("the reader was closed");
    backoff = std::min(backoff * 2, policy_.max_backoff);
  }
}

bool ServerSet::Backoff(absl::Duration backoff) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  // Full jitter: a uniform fraction of the backoff, so many clients do not retry in lockstep.
  const double fraction = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&cancelled_), backoff * fraction);
  return !cancelled_;
}

void ServerSet::MarkProgress() {
  absl::MutexLock lock(&mu_);
  last_progress_ = absl::Now();
}

void ServerSet::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* c : in_flight_) c->TryCancel();
}

uint64_t ServerSet::retries() const {
  absl::MutexLock lock(&mu_);
  return retries_;
}

}  // namespace shardstream
