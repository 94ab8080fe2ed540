// The document records of one corpus file on their way from a reader to the catalog, held
// serialized (a few times smaller than parsed protobufs) in memory up to a byte limit and
// spilled to an unlinked temporary file beyond it, so that a file of any number of documents
// costs its reader a bounded amount of memory.
#ifndef SHARDSTREAM_SERVER_DOCUMENT_LIST_H_
#define SHARDSTREAM_SERVER_DOCUMENT_LIST_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// Documents of one file, in file order, read once from front to back.
class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  // The next document into `doc`; false after the last one.
  virtual absl::StatusOr<bool> Next(v1::DocRecord* doc) = 0;
  // The same, serialized without file_id and duplicate_of (server/doc_record_wire.h);
  // `record` is valid until the next call. By default Next() serialized; a source that holds
  // records serialized hands them out.
  virtual absl::StatusOr<bool> NextSerialized(std::string_view* record);

 private:
  v1::DocRecord doc_;  // for the default NextSerialized
  std::string serialized_;
};

// A DocumentSource over records in memory.
class VectorDocumentSource : public DocumentSource {
 public:
  explicit VectorDocumentSource(const std::vector<v1::DocRecord>& docs) : docs_(docs) {}
  absl::StatusOr<bool> Next(v1::DocRecord* doc) override;

 private:
  const std::vector<v1::DocRecord>& docs_;
  size_t next_ = 0;
};

// Not thread-safe; a list may move between threads.
class DocumentList {
 public:
  // Records beyond `memory_bytes` of serialized records go to a temporary file created (and at
  // once unlinked, so nothing is left behind even by kill -9) in `spill_dir`.
  DocumentList(std::string spill_dir, size_t memory_bytes);
  ~DocumentList();
  DocumentList(DocumentList&& other) noexcept;
  DocumentList& operator=(DocumentList&& other) noexcept;

  // Errors are the spill file's (creating or writing it): INTERNAL with the OS message.
  absl::Status Append(const v1::DocRecord& doc);
  // Only the first `n` documents are read from now on (n ≤ size()).
  void KeepFirst(uint64_t n);

  // Documents to be read (those kept).
  uint64_t size() const { return std::min(size_, kept_); }
  uint64_t serialized_bytes() const { return spilled_bytes_ + memory_.size(); }
  uint64_t spilled_bytes() const { return spilled_bytes_; }
  // Bytes of memory the list holds now.
  size_t memory_bytes() const { return memory_.capacity(); }

  // Reads the kept documents from the first; the list must outlive the source and not change
  // while it is read. Several sources may be made one after another.
  std::unique_ptr<DocumentSource> Read() const;

 private:
  class Source;
  absl::Status Spill();

  std::string spill_dir_;
  size_t memory_limit_ = 0;
  int fd_ = -1;
  uint64_t spilled_bytes_ = 0;
  std::string memory_;  // records after the spilled ones: varint length, serialized record
  uint64_t size_ = 0;
  uint64_t kept_ = UINT64_MAX;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_DOCUMENT_LIST_H_
