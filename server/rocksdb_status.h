// The one place RocksDB statuses become absl::Status.
#ifndef SHARDSTREAM_SERVER_ROCKSDB_STATUS_H_
#define SHARDSTREAM_SERVER_ROCKSDB_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace shardstream {

// `context` says what was being done ("open catalog /x"). The code tells the caller what to do:
// a held lock is FAILED_PRECONDITION (stop the other process), corruption is DATA_LOSS.
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_ROCKSDB_STATUS_H_
