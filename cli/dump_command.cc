#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/big_endian.h"
#include "common/hash128.h"
#include "common/status_macros.h"
#include "google/protobuf/text_format.h"
#include "server/catalog.h"
#include "server/catalog_schema.h"
#include "server/token_store.h"

namespace shardstream::cli {
namespace {

// Decodes one catalog entry into "family key record" text.
std::string DescribeEntry(const std::string& family, std::string_view key, std::string_view value) {
  namespace schema = catalog_schema;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string text;
  std::string key_text;
  auto print = [&](google::protobuf::Message&& message) {
    if (message.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      printer.PrintToString(message, &text);
    } else {
      text = "<unparsable>";
    }
  };
  if (family == schema::kMetaFamily && key == schema::kNearDedupKey) {
    key_text = std::string(key);
    print(v1::NearDedupRecord());
  } else if (family == schema::kMetaFamily) {
    key_text = std::string(key);
    print(v1::DatasetMeta());
  } else if (family == schema::kFilesFamily) {
    key_text = absl::StrCat(schema::FileIdFromKey(key));
    print(v1::FileRecord());
  } else if (family == schema::kDocsFamily) {
    key_text = absl::StrCat(schema::DocIdFromKey(key));
    print(v1::DocRecord());
  } else if (family == schema::kTokenizersFamily) {
    key_text = Hash128::FromBytes(key).ToHex();
    v1::TokenizerRecord record;
    if (record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      // The definitions are megabytes of JSON: show their size and hash instead.
      std::string definition = record.definition(), merges = record.merges_txt();
      record.clear_definition();
      record.clear_merges_txt();
      printer.PrintToString(record, &text);
      absl::StrAppend(&text, " definition: ", definition.size(), " bytes xxh3 ",
                      HashBytes(definition).ToHex(), " merges_txt: ", merges.size(), " bytes");
    } else {
      text = "<unparsable>";
    }
  } else if (family == schema::kTokenFilesFamily) {
    key_text = absl::StrCat(Hash128::FromBytes(key).ToHex(), "/", LoadBigEndian32(key.substr(16)));
    print(v1::TokenizedFile());
  } else if (family == schema::kTokensFamily) {
    key_text = absl::StrCat(Hash128::FromBytes(key).ToHex(), "/", LoadBigEndian64(key.substr(16)));
    text = absl::StrCat(value.size(), " bytes xxh3 ", HashBytes(value).ToHex());
  } else if (family == schema::kMinHashFilesFamily) {
    key_text = absl::StrCat(schema::FileIdFromKey(key));
    print(v1::MinHashFile());
  } else if (family == schema::kMinHashFamily) {
    key_text = absl::StrCat(schema::DocIdFromKey(key));
    text = absl::StrCat(value.size(), " bytes xxh3 ", HashBytes(value).ToHex());
  } else if (family == schema::kNearDupsFamily) {
    key_text = absl::StrCat(schema::DocIdFromKey(key));
    print(v1::NearDuplicate());
  } else {
    key_text = absl::StrCat(Hash128::FromBytes(key).ToHex(), "/", schema::DocIdFromDedupKey(key));
  }
  return absl::StrCat(family, " ", key_text, " ", text);
}

// The ids in token packs, as the tokens family printed them before packs: a line per
// document of every tokenized file.
absl::Status DumpTokenPacks(const Catalog& catalog) {
  const TokenStore store(&catalog);
  ASSIGN_OR_RETURN(std::vector<v1::TokenizerRecord> tokenizers, store.ListTokenizers());
  for (const v1::TokenizerRecord& tokenizer : tokenizers) {
    const std::string hex = FingerprintOf(tokenizer).ToHex();
    ASSIGN_OR_RETURN(auto files, store.TokenizedFiles(FingerprintOf(tokenizer), true));
    for (const auto& [id, file] : files) {
      if (file.token_pack().empty()) continue;  // its ids are in the tokens family
      ASSIGN_OR_RETURN(std::shared_ptr<const TokenPack> pack, store.OpenPack(tokenizer, file));
      for (uint64_t doc = file.first_doc_id(); doc < file.first_doc_id() + file.num_docs(); ++doc) {
        ASSIGN_OR_RETURN(const std::string_view packed, pack->Tokens(doc));
        std::cout << catalog_schema::kTokensFamily << " " << hex << "/" << doc << " "
                  << packed.size() << " bytes xxh3 " << HashBytes(packed).ToHex() << "\n";
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

int RunDumpCommand(const std::vector<std::string>& args) {
  std::string db;
  std::vector<std::string> families;
  FlagParser flags(
      "shardstream dump --db DIR [--family meta files docs dedup tokenizers token_files tokens "
      "minhash_files minhash near_dups]",
      "Prints every catalog record, one per line, in key order: for debugging, and\n"
      "to compare two catalogs with diff.");
  flags.AddString("db", &db, "catalog directory");
  flags.AddList("family", &families,
                "column families to print (default: all but tokens and minhash, which print a "
                "hash per document)");
  flags.Require("db");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "dump")) return *exit_status;
  if (families.empty()) {
    families = {catalog_schema::kMetaFamily,         catalog_schema::kFilesFamily,
                catalog_schema::kDocsFamily,         catalog_schema::kDedupFamily,
                catalog_schema::kTokenizersFamily,   catalog_schema::kTokenFilesFamily,
                catalog_schema::kMinHashFilesFamily, catalog_schema::kNearDupsFamily};
  }
  CatalogOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, options);
  if (!catalog.ok()) {
    return Fail("dump", catalog.status().message());
  }
  for (const std::string& family : families) {
    absl::Status s =
        (*catalog)->ForEachEntry(family, [&](std::string_view key, std::string_view value) {
          std::cout << DescribeEntry(family, key, value) << "\n";
        });
    if (s.ok() && family == catalog_schema::kTokensFamily) s = DumpTokenPacks(**catalog);
    if (!s.ok()) {
      return Fail("dump", s.message(), absl::IsInvalidArgument(s) ? kExitUsage : kExitFailed);
    }
  }
  return kExitOk;
}

}  // namespace shardstream::cli
