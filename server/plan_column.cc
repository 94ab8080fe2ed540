#include "server/plan_column.h"

#include <cstring>

namespace shardstream {
namespace {

void AppendU64(uint64_t v, std::string* out) {
  for (int b = 0; b < 8; ++b) out->push_back(static_cast<char>(v >> (8 * b)));
}

uint64_t ReadU64(const char* p) {
  uint64_t v = 0;
  for (int b = 7; b >= 0; --b) v = (v << 8) | static_cast<uint8_t>(p[b]);
  return v;
}

}  // namespace

Hash128 RulesFingerprint() {
  static const Hash128 fingerprint = [] {
    Hasher128 h;
    h.UpdateString("shardstream.plan_column.v1");
    h.UpdateU64(CleaningRules().size());
    for (const CleaningRule& rule : CleaningRules()) {
      h.UpdateString(rule.name);
      h.UpdateString(rule.definition);
    }
    return h.Digest();
  }();
  return fingerprint;
}

uint8_t RuleDrops(const v1::QualitySignals& quality) {
  uint8_t bits = 0;  // cleaning_rules.cc asserts that there are at most 8 rules
  for (size_t i = 0; i < CleaningRules().size(); ++i) {
    if (CleaningRules()[i].drops(quality)) bits |= static_cast<uint8_t>(1u << i);
  }
  return bits;
}

uint8_t PresetMask(const FilterPreset& preset) {
  uint8_t mask = 0;
  for (const CleaningRule* rule : preset.rules) {
    mask |= static_cast<uint8_t>(1u << (rule - CleaningRules().data()));
  }
  return mask;
}

void PlanColumnBuilder::Add(const v1::DocRecord& doc) {
  AppendU64(doc.hash_hi(), &hashes_);
  AppendU64(doc.hash_lo(), &hashes_);
  flags_.push_back(
      static_cast<char>(RuleDrops(doc.quality()) | (doc.has_duplicate_of() ? kCopyFlag : 0)));
}

void PlanColumnBuilder::MoveInto(v1::TokenizedFile* record) {
  const Hash128 rules = RulesFingerprint();
  record->set_doc_hashes(std::move(hashes_));
  record->set_doc_flags(std::move(flags_));
  record->set_rules_hi(rules.hi);
  record->set_rules_lo(rules.lo);
  hashes_.clear();
  flags_.clear();
}

bool HasPlanColumn(const v1::TokenizedFile& record) {
  const Hash128 rules = RulesFingerprint();
  return record.rules_hi() == rules.hi && record.rules_lo() == rules.lo &&
         record.doc_hashes().size() == 16 * record.num_docs() &&
         record.doc_flags().size() == record.num_docs();
}

Hash128 ColumnHash(const v1::TokenizedFile& record, size_t i) {
  const char* p = record.doc_hashes().data() + 16 * i;
  return Hash128{ReadU64(p), ReadU64(p + 8)};
}

}  // namespace shardstream
