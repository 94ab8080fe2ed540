#include "server/catalog_follower.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace shardstream {
namespace {

// What changes whenever RocksDB writes: every file's name, size and modification time (not
// its info logs, which instances may write without changing the data).
std::string FilesOf(const std::string& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("LOG", 0) == 0) continue;  // LOG, LOG.old.*
    std::error_code e;
    const auto size = entry.file_size(e);
    const auto time = entry.last_write_time(e).time_since_epoch().count();
    absl::StrAppend(&out, entry.path().filename().string(), " ", e ? 0 : size, " ", time, "\n");
  }
  return out;
}

}  // namespace

CatalogFollower::CatalogFollower(std::shared_ptr<const Catalog> current, CatalogOptions options,
                                 absl::Duration interval, OnChange on_change)
    : dir_(current->dir()),
      options_(options),
      interval_(interval),
      on_change_(std::move(on_change)),
      current_(std::move(current)),
      files_(FilesOf(dir_)) {
  if (interval_ != absl::InfiniteDuration()) thread_ = std::thread([this] { Run(); });
}

CatalogFollower::~CatalogFollower() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void CatalogFollower::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stop_), interval_)) return;
    }
    absl::StatusOr<bool> changed = CheckNow();
    if (!changed.ok()) {
      absl::MutexLock lock(&mu_);
      if (absl::Now() - last_warning_ > absl::Minutes(1)) {
        last_warning_ = absl::Now();
        LogWarning("following the catalog: ", changed.status().message(), " (retrying)");
      }
    }
  }
}

absl::StatusOr<bool> CatalogFollower::CheckNow() {
  const std::string files = FilesOf(dir_);
  std::shared_ptr<const Catalog> current;
  {
    absl::MutexLock lock(&mu_);
    if (files == files_) return false;
    current = current_;
  }
  absl::StatusOr<std::unique_ptr<Catalog>> opened = Catalog::Open(dir_, options_);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<const Catalog> next = std::move(*opened);
  const bool differs =
      next->version() != current->version() || next->sequence() != current->sequence();
  {
    absl::MutexLock lock(&mu_);
    files_ = files;
    if (differs) current_ = next;
  }
  if (differs) on_change_(std::move(next));
  return differs;
}

}  // namespace shardstream
