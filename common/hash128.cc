#include "common/hash128.h"

#define XXH_INLINE_ALL  // XXH3_state_t must be a complete type to embed it
#include <xxhash.h>

#include "absl/strings/str_format.h"
#include "common/big_endian.h"

namespace shardstream {

std::string Hash128::ToHex() const { return absl::StrFormat("%016x%016x", hi, lo); }

std::string Hash128::ToBytes() const {
  std::string out;
  AppendBytes(&out);
  return out;
}

void Hash128::AppendBytes(std::string* out) const {
  AppendBigEndian64(out, hi);
  AppendBigEndian64(out, lo);
}

Hash128 Hash128::FromBytes(std::string_view b) {
  return Hash128{LoadBigEndian64(b), LoadBigEndian64(b.substr(8))};
}

Hash128 HashBytes(std::string_view data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Hash128{h.high64, h.low64};
}

struct Hasher128::State {
  XXH3_state_t xxh;
};

Hasher128::Hasher128() : state_(std::make_unique<State>()) { XXH3_128bits_reset(&state_->xxh); }
Hasher128::~Hasher128() = default;
Hasher128::Hasher128(Hasher128&&) noexcept = default;
Hasher128& Hasher128::operator=(Hasher128&&) noexcept = default;

void Hasher128::Update(std::string_view data) {
  XXH3_128bits_update(&state_->xxh, data.data(), data.size());
}

void Hasher128::UpdateU64(uint64_t value) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(value >> (8 * i));
  Update(std::string_view(buf, sizeof(buf)));
}

void Hasher128::UpdateString(std::string_view data) {
  UpdateU64(data.size());
  Update(data);
}

void Hasher128::UpdateHash(const Hash128& h) {
  UpdateU64(h.hi);
  UpdateU64(h.lo);
}

Hash128 Hasher128::Digest() const {
  XXH128_hash_t h = XXH3_128bits_digest(&state_->xxh);
  return Hash128{h.high64, h.low64};
}

}  // namespace shardstream
