// StreamCursor::Parse on any text: INVALID_ARGUMENT or a cursor that prints back to a text
// which parses to the same cursor.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/stream_cursor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<shardstream::StreamCursor> cursor = shardstream::StreamCursor::Parse(text);
  if (!cursor.ok()) {
    if (!absl::IsInvalidArgument(cursor.status())) std::abort();
    return 0;
  }
  absl::StatusOr<shardstream::StreamCursor> again =
      shardstream::StreamCursor::Parse(cursor->ToString());
  if (!again.ok() || !(*again == *cursor)) std::abort();
  return 0;
}
