#include "server/stream_pacer.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace shardstream {
namespace {

constexpr uint64_t kNone = ~uint64_t{0};

}  // namespace

StreamPacer::~StreamPacer() = default;

StreamPacer::Member::Member(StreamPacer* pacer, Group* group, uint64_t epoch)
    : pacer_(pacer), group_(group), epoch_(epoch), made_ns_(absl::GetCurrentTimeNanos()) {}

std::unique_ptr<StreamPacer::Member> StreamPacer::Join(const Hash128& key, uint64_t first_epoch) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  auto near = [&](const Group& g) {
    if (g.first_epoch == first_epoch && now - g.started < join_window_) return true;
    for (const Member* m : g.members) {
      const uint64_t e = m->epoch_.load(std::memory_order_relaxed);
      if (e <= first_epoch + kMostEpochsAhead && first_epoch <= e + kMostEpochsAhead) return true;
    }
    return false;
  };
  Group* group = nullptr;
  auto [first, last] = jobs_.equal_range(key);
  for (auto it = first; it != last && group == nullptr; ++it) {
    if (near(*it->second)) group = it->second.get();
  }
  if (group == nullptr) {
    group =
        jobs_.emplace(key, std::make_unique<Group>(Group{key, first_epoch, now, {}}))->second.get();
  }
  std::unique_ptr<Member> member(new Member(this, group, first_epoch));
  group->members.push_back(member.get());
  return member;
}

StreamPacer::Member::~Member() {
  absl::MutexLock lock(&pacer_->mu_);  // its release lets the waiters look again
  std::vector<Member*>& members = group_->members;
  members.erase(std::find(members.begin(), members.end(), this));
  if (!members.empty()) return;
  auto [first, last] = pacer_->jobs_.equal_range(group_->key);
  for (auto it = first; it != last; ++it) {
    if (it->second.get() == group_) {
      pacer_->jobs_.erase(it);
      break;
    }
  }
}

size_t StreamPacer::members() const {
  absl::MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, group] : jobs_) n += group->members.size();
  return n;
}

size_t StreamPacer::jobs() const {
  absl::MutexLock lock(&mu_);
  return jobs_.size();
}

uint64_t StreamPacer::SlowestOthers(const Member* self, absl::Time stalled_before) const {
  const int64_t before_ns = absl::ToUnixNanos(stalled_before);
  uint64_t slowest = kNone;
  for (const Member* m : self->group_->members) {
    if (m != self && m->made_ns_.load(std::memory_order_relaxed) >= before_ns) {
      slowest = std::min(slowest, m->epoch_.load(std::memory_order_relaxed));
    }
  }
  return slowest;
}

absl::Duration StreamPacer::Member::Made(uint64_t epoch) {
  made_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  if (epoch == epoch_.load(std::memory_order_relaxed)) return absl::ZeroDuration();
  StreamPacer& pacer = *pacer_;
  absl::MutexLock lock(&pacer.mu_);
  epoch_.store(epoch, std::memory_order_relaxed);  // the unlock lets waiters look again
  absl::Time start = absl::InfinitePast();         // of the first wait
  while (true) {
    const absl::Time now = absl::Now();
    auto within = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pacer.mu_) {
      const uint64_t slowest = pacer.SlowestOthers(this, now - pacer.stalled_after_);
      return slowest == kNone || epoch <= slowest + kMostEpochsAhead;
    };
    if (within()) break;
    if (start == absl::InfinitePast()) start = now;
    // Woken when the slowest moves on or leaves (both under the lock); looks again for
    // members that stalled meanwhile four times per stalled_after.
    pacer.mu_.AwaitWithTimeout(absl::Condition(&within), pacer.stalled_after_ / 4);
  }
  return start == absl::InfinitePast() ? absl::ZeroDuration() : absl::Now() - start;
}

}  // namespace shardstream
