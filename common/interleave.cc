#include "common/interleave.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace shardstream {

absl::StatusOr<Interleave> Interleave::Create(const std::vector<uint64_t>& weights) {
  if (weights.empty()) return absl::InvalidArgumentError("an interleave needs at least one part");
  if (weights.size() > (size_t{1} << 30)) return absl::InvalidArgumentError("too many parts");
  uint64_t total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0) {
      return absl::InvalidArgumentError(absl::StrCat("part ", i, " has weight 0"));
    }
    if (weights[i] > kMaxTotalWeight - total) {
      return absl::InvalidArgumentError("the parts' weights add up to more than 2^62");
    }
    total += weights[i];
  }
  Interleave out;
  const size_t n = weights.size();
  out.leaf_parent_.assign(n, -1);
  out.leaf_is_left_.assign(n, false);
  if (n == 1) {
    out.leaf_weight_ = weights[0];
    return out;
  }
  // Huffman: repeatedly join the two lightest subtrees. Ties: the subtree whose smallest part
  // index is lower comes first; the first taken becomes the left child.
  using Entry = std::tuple<uint64_t, uint32_t, int32_t>;  // weight, min part index, child code
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  for (size_t i = 0; i < n; ++i) {
    queue.emplace(weights[i], static_cast<uint32_t>(i), ~static_cast<int32_t>(i));
  }
  std::vector<Node> built;  // in creation order; the root is the last
  built.reserve(n - 1);
  while (queue.size() > 1) {
    auto [wa, ia, ca] = queue.top();
    queue.pop();
    auto [wb, ib, cb] = queue.top();
    queue.pop();
    built.push_back(Node{wa + wb, wa, ca, cb});
    queue.emplace(wa + wb, std::min(ia, ib), static_cast<int32_t>(built.size() - 1));
  }
  // Renumber so that the root is node 0 (creation index c → n - 2 - c).
  const int32_t last = static_cast<int32_t>(built.size()) - 1;
  auto renumber = [last](int32_t code) { return code >= 0 ? last - code : code; };
  out.nodes_.resize(built.size());
  out.node_parent_.assign(built.size(), -1);
  out.node_is_left_.assign(built.size(), false);
  for (int32_t c = 0; c <= last; ++c) {
    Node node = built[c];
    node.left = renumber(node.left);
    node.right = renumber(node.right);
    const int32_t id = last - c;
    out.nodes_[id] = node;
    for (const auto& [child, is_left] : {std::pair{node.left, true}, std::pair{node.right, false}}) {
      if (child >= 0) {
        out.node_parent_[child] = id;
        out.node_is_left_[child] = is_left;
      } else {
        out.leaf_parent_[~child] = id;
        out.leaf_is_left_[~child] = is_left;
      }
    }
  }
  // Depth: walk every leaf up (O(n · depth), once).
  for (size_t i = 0; i < n; ++i) {
    int d = 0;
    for (int32_t p = out.leaf_parent_[i]; p >= 0; p = out.node_parent_[p]) ++d;
    out.depth_ = std::max(out.depth_, d);
  }
  return out;
}

namespace {

// (2·m·a + w) divided by 2·w: quotient and remainder. The quotient is at most m + 1/2, so it
// fits 64 bits and one 128-by-64-bit division does (a < 2^62, w <= 2^62).
inline void DivMod(uint64_t m, uint64_t a, uint64_t w, uint64_t* q, uint64_t* r) {
  using u128 = unsigned __int128;
  const u128 num = u128{2} * m * a + w;
  const uint64_t den = 2 * w;
#if defined(__x86_64__)
  uint64_t hi = static_cast<uint64_t>(num >> 64), lo = static_cast<uint64_t>(num);
  __asm__("divq %[den]" : "+a"(lo), "+d"(hi) : [den] "rm"(den) : "cc");
  *q = lo;
  *r = hi;
#else
  *q = static_cast<uint64_t>(num / den);
  *r = static_cast<uint64_t>(num % den);
#endif
}

}  // namespace

uint64_t Interleave::LeftCount(const Node& node, uint64_t m) {
  // floor(m·a/w + 1/2) = floor((2·m·a + w) / (2·w)).
  uint64_t q, r;
  DivMod(m, node.left_weight, node.weight, &q, &r);
  return q;
}

Interleave::Position Interleave::Locate(uint64_t k) const {
  if (nodes_.empty()) return Position{0, k};
  int32_t at = 0;
  uint64_t m = k;
  while (true) {
    const Node& node = nodes_[at];
    // Sequence m goes left iff LeftCount(m + 1) > LeftCount(m): the numerator grows by 2·a,
    // so iff the remainder plus 2·a reaches 2·w (< 4·w <= 2^64: no overflow).
    uint64_t left_before, rest;
    DivMod(m, node.left_weight, node.weight, &left_before, &rest);
    int32_t child;
    if (rest + 2 * node.left_weight >= 2 * node.weight) {
      child = node.left;
      m = left_before;
    } else {
      child = node.right;
      m -= left_before;
    }
    if (child < 0) return Position{static_cast<uint32_t>(~child), m};
    at = child;
  }
}

uint64_t Interleave::CountBefore(uint32_t part, uint64_t k) const {
  if (nodes_.empty()) return k;
  // The path from the root down to the leaf, then the counts along it.
  std::vector<std::pair<int32_t, bool>> path;  // (node, the next step goes left)
  path.emplace_back(leaf_parent_[part], leaf_is_left_[part]);
  for (int32_t p = leaf_parent_[part]; node_parent_[p] >= 0; p = node_parent_[p]) {
    path.emplace_back(node_parent_[p], node_is_left_[p]);
  }
  uint64_t m = k;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    const uint64_t left = LeftCount(nodes_[it->first], m);
    m = it->second ? left : m - left;
  }
  return m;
}

}  // namespace shardstream
