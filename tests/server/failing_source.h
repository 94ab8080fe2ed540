// A DocumentSource for catalog tests of adds that fail part way.
#ifndef SHARDSTREAM_TESTS_SERVER_FAILING_SOURCE_H_
#define SHARDSTREAM_TESTS_SERVER_FAILING_SOURCE_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/document_list.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream::testing {

// Yields `docs` but fails after `fail_after` of them, as a reader whose spill file breaks.
class FailingSource : public DocumentSource {
 public:
  FailingSource(const std::vector<v1::DocRecord>& docs, size_t fail_after)
      : docs_(docs), fail_after_(fail_after) {}
  absl::StatusOr<bool> Next(v1::DocRecord* doc) override {
    if (next_ == fail_after_) return absl::InternalError("injected failure");
    if (next_ >= docs_.size()) return false;
    *doc = docs_[next_++];
    return true;
  }

 private:
  const std::vector<v1::DocRecord>& docs_;
  const size_t fail_after_;
  size_t next_ = 0;
};

}  // namespace shardstream::testing

#endif  // SHARDSTREAM_TESTS_SERVER_FAILING_SOURCE_H_
