// A small streaming JSON writer for the CLI's machine-readable output (stats --json, dump).
// Produces compact JSON; strings are escaped per RFC 8259 (invalid UTF-8 bytes become U+FFFD).
#ifndef SHARDSTREAM_COMMON_JSON_WRITER_H_
#define SHARDSTREAM_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shardstream {

// Not thread-safe. Usage: w.BeginObject(); w.Key("a"); w.Int(1); w.EndObject(); w.str().
class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);  // shortest round-trip form; NaN/inf written as null
  void Bool(bool value);
  void Null();

  const std::string& str() const { return out_; }

  // Appends `value` to `out` as a quoted JSON string.
  static void AppendQuoted(std::string_view value, std::string* out);

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_JSON_WRITER_H_
