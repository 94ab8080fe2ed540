// Splicing file_id and duplicate_of into a read record gives the bytes protobuf gives for the
// whole record, over random records (fields present or not, zeros, large values, metadata
// and quality signals) and every kind of link; malformed input is refused.
#include "server/doc_record_wire.h"

#include <random>

#include "gtest/gtest.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {
namespace {

v1::DocRecord RandomRecord(std::mt19937_64& random) {
  auto pick = [&random](uint64_t large) -> uint64_t {
    switch (random() % 3) {
      case 0:
        return 0;
      case 1:
        return random() % 200;
      default:
        return large;
    }
  };
  v1::DocRecord doc;
  doc.set_line(pick(random()));
  doc.set_text_bytes(pick(random() >> 20));
  doc.set_hash_hi(pick(random()));
  doc.set_hash_lo(pick(random()));
  for (int i = random() % 3; i > 0; --i) {
    v1::MetadataField* field = doc.add_metadata();
    field->set_key("key" + std::to_string(random() % 10));
    field->set_value(std::string(random() % 300, 'v'));
  }
  if (random() % 2) {
    doc.mutable_quality()->set_num_lines(pick(random() >> 40));
    doc.mutable_quality()->set_no_keywords(random() % 2);
  }
  return doc;
}

TEST(DocRecordWire, LinkedRecordsAreTheBytesOfTheWholeRecordSerialized) {
  std::mt19937_64 random(11);
  for (int i = 0; i < 2000; ++i) {
    v1::DocRecord doc = RandomRecord(random);
    const std::string read = doc.SerializeAsString();
    absl::StatusOr<ReadDocRecord> scanned = ScanReadDocRecord(read);
    ASSERT_TRUE(scanned.ok()) << scanned.status();
    EXPECT_EQ(scanned->hash, (Hash128{doc.hash_hi(), doc.hash_lo()}));

    const uint32_t file_id = i % 4 == 0 ? 0 : static_cast<uint32_t>(random() >> (i % 32));
    std::optional<uint64_t> duplicate_of;
    if (i % 3 == 1) duplicate_of = 0;  // present though zero
    if (i % 3 == 2) duplicate_of = random() >> (i % 64);
    doc.set_file_id(file_id);
    if (duplicate_of.has_value()) doc.set_duplicate_of(*duplicate_of);
    std::string linked = "prefix";
    AppendLinkedDocRecord(read, *scanned, file_id, duplicate_of, &linked);
    ASSERT_EQ(linked, "prefix" + doc.SerializeAsString()) << doc.DebugString();
  }
}

TEST(DocRecordWire, RecordsWithLinksOrBrokenBytesAreRefused) {
  v1::DocRecord doc;
  doc.set_line(3);
  doc.set_file_id(2);
  EXPECT_EQ(ScanReadDocRecord(doc.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);
  doc.clear_file_id();
  doc.set_duplicate_of(0);
  EXPECT_EQ(ScanReadDocRecord(doc.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);
  doc.clear_duplicate_of();
  doc.set_hash_hi(7);
  doc.add_metadata()->set_key("repo");
  const std::string whole = doc.SerializeAsString();
  EXPECT_TRUE(ScanReadDocRecord(whole).ok());
  // Cut inside the fixed64 hash and inside the metadata's length-delimited bytes.
  EXPECT_FALSE(ScanReadDocRecord(whole.substr(0, 5)).ok());
  EXPECT_FALSE(ScanReadDocRecord(whole.substr(0, whole.size() - 1)).ok());
  EXPECT_FALSE(ScanReadDocRecord(std::string("\x80", 1)).ok());  // a varint that never ends
  EXPECT_FALSE(ScanReadDocRecord(std::string("\x03", 1)).ok());  // field 0
}

}  // namespace
}  // namespace shardstream
