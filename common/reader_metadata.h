// The call metadata a Reader sends with GetPlan and ReadSequences, so that a server can tell
// one reader's calls from another's (its log's "reader opened" / "reader ended" lines and the
// readers_open metric). Informational only: nothing is decided by it.
#ifndef SHARDSTREAM_COMMON_READER_METADATA_H_
#define SHARDSTREAM_COMMON_READER_METADATA_H_

namespace shardstream {

// A random id per Reader (16 hex digits), the same on every call and server it talks to.
inline constexpr char kReaderIdMetadata[] = "x-shardstream-reader";
// "rank/world_size" of the reader.
inline constexpr char kReaderRankMetadata[] = "x-shardstream-rank";

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_READER_METADATA_H_
