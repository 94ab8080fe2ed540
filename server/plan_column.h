// The plan column of a tokenized file (TokenizedFile.doc_hashes, doc_flags, rules_hi/lo):
// per document, what a plan needs besides its token count — its text's hash and whether it
// was a copy of an earlier document (exact dedup within a part), and which cleaning rules drop
// it (filter presets) — written by `tokenize` next to the token counts, so that building a
// plan reads one small record per file instead of every document's DocRecord (protobuf parse,
// decompression and iteration per document).
//
// The copy flag only ever errs towards "a copy": a document's duplicate_of is set when it is
// added (its original has a smaller id, so it cannot appear later) and only cleared when its
// original is removed. So every text that occurs twice in a part has an occurrence flagged,
// and a plan looks up in its set of texts seen only the documents whose text is among the
// flagged ones' (CatalogPlan::Build).
#ifndef SHARDSTREAM_SERVER_PLAN_COLUMN_H_
#define SHARDSTREAM_SERVER_PLAN_COLUMN_H_

#include <cstdint>
#include <string>

#include "common/hash128.h"
#include "server/cleaning_rules.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// Of CleaningRules(): their names and definitions in order. Bits computed with other rules
// are not used (the plan reads the DocRecords instead, and `tokenize` writes them again).
Hash128 RulesFingerprint();
// Bit i: CleaningRules()[i] drops a document with these signals.
uint8_t RuleDrops(const v1::QualitySignals& quality);
// The bits of the preset's rules: it drops a document when flags & mask.
uint8_t PresetMask(const FilterPreset& preset);
// The flag of a document that had a duplicate_of when its file was tokenized.
inline constexpr uint8_t kCopyFlag = 0x80;

// Collects the column of one file's documents, in id order. Not thread-safe.
class PlanColumnBuilder {
 public:
  void Add(const v1::DocRecord& doc);
  // Moves the column into `record` (with the current rules' fingerprint).
  void MoveInto(v1::TokenizedFile* record);

 private:
  std::string hashes_;
  std::string flags_;
};

// True when `record` has a column for all its documents, made with the current rules.
bool HasPlanColumn(const v1::TokenizedFile& record);
// Document i's hash and flags (HasPlanColumn(record) must hold).
Hash128 ColumnHash(const v1::TokenizedFile& record, size_t i);
inline uint8_t ColumnFlags(const v1::TokenizedFile& record, size_t i) {
  return static_cast<uint8_t>(record.doc_flags()[i]);
}

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_PLAN_COLUMN_H_
