#include "common/mixture.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace shardstream {
namespace {

constexpr uint64_t kNano = 1000000000;

// "12.5" → 12,500,000,000; nullopt-like false on anything else.
bool ParseDecimal(absl::string_view text, uint64_t* nano) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('.', 1));
  uint64_t whole = 0, frac = 0;
  if (parts[0].empty() && (parts.size() == 1 || parts[1].empty())) return false;
  auto digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(parts[0]) || (!parts[0].empty() && !absl::SimpleAtoi(parts[0], &whole))) return false;
  if (whole > 1000000) return false;
  if (parts.size() == 2) {
    if (!digits(parts[1]) || parts[1].size() > 9) return false;
    std::string padded(parts[1]);
    padded.resize(9, '0');
    if (!absl::SimpleAtoi(padded, &frac)) return false;
  }
  *nano = whole * kNano + frac;
  return true;
}

std::string FormatNano(uint64_t nano) {
  std::string out = absl::StrCat(nano / kNano);
  if (uint64_t frac = nano % kNano; frac != 0) {
    std::string f = absl::StrCat(frac + kNano).substr(1);  // 9 digits, leading zeros kept
    while (f.back() == '0') f.pop_back();
    absl::StrAppend(&out, ".", f);
  }
  return out;
}

}  // namespace

absl::StatusOr<Mixture> Mixture::Parse(absl::string_view spec) {
  Mixture m;
  if (spec.empty()) return m;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("mixture \"", spec.substr(0, 200), "\": ", why,
                     "; write NAME=WEIGHT[,NAME=WEIGHT...], e.g. python=0.7,docs=0.3"));
  };
  std::set<std::string> seen;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return bad(absl::StrCat("\"", item.substr(0, 64), "\" has no '='"));
    if (absl::Status s = ValidateSourceName(kv[0]); !s.ok()) return bad(s.message());
    uint64_t nano = 0;
    if (!ParseDecimal(kv[1], &nano)) {
      return bad(absl::StrCat("weight \"", kv[1].substr(0, 32),
                              "\" is not a decimal in (0, 1000000] with at most 9 decimals"));
    }
    if (nano == 0) return bad(absl::StrCat("source ", kv[0], " has weight 0; leave it out"));
    if (!seen.insert(std::string(kv[0])).second) {
      return bad(absl::StrCat("source ", kv[0], " is named twice"));
    }
    m.weights_.emplace_back(std::string(kv[0]), nano);
  }
  if (m.weights_.size() > 4096) return bad("more than 4096 sources");
  std::sort(m.weights_.begin(), m.weights_.end());
  return m;
}

std::string Mixture::ToString() const {
  std::vector<std::string> items;
  for (const auto& [name, nano] : weights_) items.push_back(absl::StrCat(name, "=", FormatNano(nano)));
  return absl::StrJoin(items, ",");
}

Hash128 Mixture::Fingerprint() const {
  // Normalised weights (the shares the stream uses), so "a=2,b=1" and "a=0.6666..." differ
  // only as far as their shares do, and "a=2,b=2" equals "a=1,b=1".
  if (natural()) return Hash128{};
  Hasher128 h;
  h.UpdateString("shardstream.mixture.v1");
  uint64_t total = 0;
  for (const auto& [name, nano] : weights_) total += nano;
  for (const auto& [name, nano] : weights_) {
    h.UpdateString(name);
    h.UpdateU64(static_cast<uint64_t>((static_cast<unsigned __int128>(nano) << 60) / total));
  }
  return h.Digest();
}

absl::StatusOr<std::vector<uint64_t>> Mixture::PartWeights(
    std::span<const PartKey> keys, std::span<const uint64_t> sequences) const {
  std::vector<uint64_t> out(keys.size(), 0);
  if (natural()) {
    for (size_t i = 0; i < keys.size(); ++i) out[i] = sequences[i];
  } else {
    std::map<std::string, uint64_t> source_sequences;
    for (size_t i = 0; i < keys.size(); ++i) source_sequences[keys[i].source] += sequences[i];
    uint64_t total = 0;
    for (const auto& [name, nano] : weights_) total += nano;
    for (const auto& [name, nano] : weights_) {
      auto it = source_sequences.find(name);
      if (it == source_sequences.end()) {
        std::vector<std::string> names;
        for (const auto& [n, s] : source_sequences) names.push_back(n);
        return absl::NotFoundError(absl::StrCat("the mixture names source ", name,
                                                ", which the dataset does not have; sources: ",
                                                absl::StrJoin(names, ", ")));
      }
      if (it->second == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "source ", name, " has less than one sequence of data; leave it out of the mixture"));
      }
      using u128 = unsigned __int128;
      const uint64_t share = static_cast<uint64_t>((u128{nano} << 60) / total);
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].source != name || sequences[i] == 0) continue;
        out[i] = std::max<uint64_t>(
            1, static_cast<uint64_t>(u128{share} * sequences[i] / it->second));
      }
    }
  }
  if (std::all_of(out.begin(), out.end(), [](uint64_t w) { return w == 0; })) {
    return absl::FailedPreconditionError(
        "no part of the stream has a full sequence; use a smaller seq_len or more data");
  }
  return out;
}

}  // namespace shardstream
