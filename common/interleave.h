// The weighted interleave of parts: global sequence k → (part, that part's own index), a pure
// function computed in O(depth of the tree) with exact integer arithmetic — no replay from 0 and
// no stored schedule (memory: O(parts)).
//
// The method. Parts are the leaves of a Huffman tree over their integer weights (ties broken by
// part index, so the tree is a pure function of the weights). Every internal node splits the
// sequences it receives between its children by the Sturmian (Beatty) rule: of the first m
// sequences of a node whose left child has weight a of the node's w, the left child gets
// floor(m·a/w + 1/2), the right child the rest. Going down the tree from the root with m = k
// locates sequence k in O(depth); going up adds nothing to memory.
//
// The proportion bound. Each split is off its exact share by at most 1/2 sequence, and the
// error of a node's count reaches its children scaled by their share, so a leaf's error is at
// most (1/2)·Σ w_leaf / w_node over the nodes on its path (the leaf included). In a Huffman tree
// a node's grandparent weighs at least twice the node, so that sum is below 4: after any k
// sequences, every part's count differs from k × (its weight / total weight) by less than 2.
// Tested over millions of k (interleave_test.cc); typical mixtures stay below 1.
//
// Periodicity. When k is a multiple of the total weight W, every part has exactly k·w/W: with
// weights equal to the parts' sequences per epoch, global epoch e holds exactly epoch e of
// every part.
//
// Persisted behaviour: streams and their cursors depend on it. Never change the tree's
// construction, the tie rule or the rounding.
#ifndef SHARDSTREAM_COMMON_INTERLEAVE_H_
#define SHARDSTREAM_COMMON_INTERLEAVE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace shardstream {

// Thread-safety: immutable after Create(); share it freely.
class Interleave {
 public:
  // The total weight is at most 2^62 (so the 128-bit arithmetic cannot overflow).
  static constexpr uint64_t kMaxTotalWeight = uint64_t{1} << 62;

  // INVALID_ARGUMENT when there is no weight, a weight is 0, or they add up to more than
  // kMaxTotalWeight.
  static absl::StatusOr<Interleave> Create(const std::vector<uint64_t>& weights);

  struct Position {
    uint32_t part;   // index into the weights
    uint64_t index;  // how many sequences of this part precede global sequence k
  };
  // Where global sequence k goes.
  Position Locate(uint64_t k) const;
  // How many of the first k global sequences go to `part` (the inverse view of Locate).
  uint64_t CountBefore(uint32_t part, uint64_t k) const;

  size_t parts() const { return leaf_parent_.size(); }
  uint64_t total_weight() const { return nodes_.empty() ? leaf_weight_ : nodes_[0].weight; }
  // Depth of the deepest leaf: the cost of one Locate.
  int depth() const { return depth_; }

 private:
  Interleave() = default;
  // Children are encoded as: >= 0 an internal node index, < 0 the leaf ~child.
  struct Node {
    uint64_t weight;       // sum of the leaves below
    uint64_t left_weight;  // weight of the left subtree
    int32_t left;
    int32_t right;
  };
  // Sequences among the first m of `node` that go to its left child.
  static uint64_t LeftCount(const Node& node, uint64_t m);

  std::vector<Node> nodes_;  // nodes_[0] is the root (when there are two parts or more)
  // For CountBefore: each leaf's parent node and whether it is the left child; the same for
  // internal nodes (root: -1).
  std::vector<int32_t> leaf_parent_;
  std::vector<bool> leaf_is_left_;
  std::vector<int32_t> node_parent_;
  std::vector<bool> node_is_left_;
  uint64_t leaf_weight_ = 0;  // the single part's weight when there is one
  int depth_ = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_INTERLEAVE_H_
