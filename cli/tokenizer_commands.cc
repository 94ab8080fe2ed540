// `shardstream encode` and `shardstream decode`: the tokenizer from the command line.
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/jsonl_encoding.h"
#include "common/json_writer.h"
#include "common/tokenizer.h"
#include "simdjson.h"

namespace shardstream::cli {
namespace {

// --tokenizer tokenizer.json, or --tokenizer vocab.json --merges merges.txt.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path,
                                                         const std::string& merges) {
  if (!merges.empty()) return Tokenizer::FromVocabAndMerges(path, merges);
  return Tokenizer::FromJsonFile(path);
}

}  // namespace

int RunEncodeCommand(const std::vector<std::string>& args) {
  std::string tokenizer_path, merges, text, jsonl, field = "text";
  bool allow_special = false, text_given = false;
  int jobs = 1;
  FlagParser flags(
      "shardstream encode --tokenizer FILE (--text STRING | --jsonl FILE [--field text]) "
      "[--allow-special] [--jobs N]",
      "Encodes text with a Hugging Face tokenizer.json (or GPT-2 vocab.json with --merges) and\n"
      "prints one JSON array of ids per input: per --text, or per line of --jsonl (plain, .gz\n"
      "or .zst; `null` for a line without a string field). Special-token strings are plain\n"
      "text unless --allow-special.");
  flags.AddString("tokenizer", &tokenizer_path, "tokenizer.json (or vocab.json with --merges)");
  flags.AddString("merges", &merges, "merges.txt, when --tokenizer is a GPT-2 vocab.json");
  flags.AddString("text", &text, "the text to encode");
  flags.AddString("jsonl", &jsonl, "JSON-lines file to encode, one document per line");
  flags.AddString("field", &field, "JSON field holding the text in --jsonl");
  flags.AddBool("allow-special", &allow_special, "added tokens in the text become their ids");
  flags.AddInt("jobs", &jobs, "threads encoding --jsonl lines");
  flags.Require("tokenizer");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "encode")) return *exit_status;
  for (const std::string& a : args)
    text_given = text_given || a == "--text" || a.rfind("--text=", 0) == 0;
  if (text_given == !jsonl.empty()) {
    std::cerr << "shardstream encode: give exactly one of --text and --jsonl\n";
    return kExitUsage;
  }
  if (jobs < 1) {
    std::cerr << "shardstream encode: --jobs must be at least 1\n";
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(tokenizer_path, merges);
  if (!tokenizer.ok()) {
    return Fail("encode", tokenizer.status().message());
  }
  const EncodeMode mode = allow_special ? EncodeMode::kWithSpecials : EncodeMode::kOrdinary;
  std::string out;
  if (text_given) {
    Encoder encoder(tokenizer->get());
    absl::StatusOr<std::vector<TokenId>> ids = encoder.Encode(text, mode);
    if (!ids.ok()) {
      return Fail("encode", ids.status().message());
    }
    AppendIdsLine(DecimalTable(0), *ids, &out);  // one line: no table, digits as written
    std::cout << out;
    return kExitOk;
  }

  JsonlEncodingOptions options;
  options.field = field;
  options.mode = mode;
  options.jobs = jobs;
  absl::StatusOr<JsonlEncodingSummary> summary = EncodeJsonLines(
      **tokenizer, jsonl, options, stdout, [&](uint64_t line, const std::string& why) {
        std::cerr << "warning: " << jsonl << ":" << line << ": " << why << "\n";
      });
  if (!summary.ok()) return Fail("encode", summary.status().message());
  return kExitOk;
}

int RunDecodeCommand(const std::vector<std::string>& args) {
  std::string tokenizer_path, merges, ids_text;
  bool raw = false;
  FlagParser flags("shardstream decode --tokenizer FILE [--ids '[1,2,3]'] [--raw]",
                   "Decodes JSON arrays of token ids (--ids, or one per line of standard input)\n"
                   "and prints each text as a JSON string per line, or as it is with --raw.");
  flags.AddString("tokenizer", &tokenizer_path, "tokenizer.json (or vocab.json with --merges)");
  flags.AddString("merges", &merges, "merges.txt, when --tokenizer is a GPT-2 vocab.json");
  flags.AddString("ids", &ids_text, "one JSON array of ids (default: read lines from stdin)");
  flags.AddBool("raw", &raw, "print the decoded bytes as they are, one text per line");
  flags.Require("tokenizer");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "decode")) return *exit_status;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(tokenizer_path, merges);
  if (!tokenizer.ok()) {
    return Fail("decode", tokenizer.status().message());
  }
  simdjson::dom::parser parser;
  auto decode_line = [&](const std::string& json, size_t number) -> bool {
    simdjson::dom::array array;
    std::vector<TokenId> ids;
    bool ok =
        parser.parse(simdjson::padded_string(json)).get_array().get(array) == simdjson::SUCCESS;
    for (simdjson::dom::element e : ok ? array : simdjson::dom::array()) {
      uint64_t id;
      if (e.get_uint64().get(id) != simdjson::SUCCESS || id > UINT32_MAX) {
        ok = false;
        break;
      }
      ids.push_back(static_cast<TokenId>(id));
    }
    if (!ok) {
      std::cerr << "shardstream decode: input " << number << " is not a JSON array of ids\n";
      return false;
    }
    absl::StatusOr<std::string> text = (*tokenizer)->Decode(ids);
    if (!text.ok()) {
      std::cerr << "shardstream decode: input " << number << ": " << text.status().message()
                << "\n";
      return false;
    }
    std::string out;
    if (raw) {
      out = *text;
    } else {
      JsonWriter::AppendQuoted(*text, &out);
    }
    out.push_back('\n');
    std::cout << out;
    return true;
  };
  if (!ids_text.empty()) return decode_line(ids_text, 1) ? kExitOk : kExitFailed;
  std::string line;
  for (size_t number = 1; std::getline(std::cin, line); ++number) {
    if (!decode_line(line, number)) return kExitFailed;
  }
  return kExitOk;
}

}  // namespace shardstream::cli
