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

uint64_t Interleave::LeftCount(const Node& node, uint64_t m) {
  // floor(m·a/w + 1/2) = floor((2·m·a + w) / (2·w)); 2·m·a < 2^127 since a < 2^62.
  using u128 = unsigned __int128;
  const u128 num = u128{2} * m * node.left_weight + node.weight;
  return static_cast<uint64_t>(num / (u128{2} * node.weight));
}

Interleave::Position Interleave::Locate(uint64_t k) const {
  if (nodes_.empty()) return Position{0, k};
  int32_t at = 0;
  uint64_t m = k;
  while (true) {
    const Node& node = nodes_[at];
    const uint64_t left_before = LeftCount(node, m);
    int32_t child;
    if (LeftCount(node, m + 1) > left_before) {
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
