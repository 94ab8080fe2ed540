#include "cli/flags.h"

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace shardstream::cli {

FlagParser::FlagParser(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

void FlagParser::AddString(const std::string& name, std::string* value, const std::string& help) {
  flags_.push_back({name, Kind::kString, value, help, value->empty() ? "" : *value});
}

void FlagParser::AddList(const std::string& name, std::vector<std::string>* values,
                         const std::string& help) {
  flags_.push_back({name, Kind::kList, values, help, absl::StrJoin(*values, " ")});
}

void FlagParser::AddInt(const std::string& name, int* value, const std::string& help) {
  flags_.push_back({name, Kind::kInt, value, help, absl::StrCat(*value)});
}

void FlagParser::AddBool(const std::string& name, bool* value, const std::string& help) {
  flags_.push_back({name, Kind::kBool, value, help, ""});
}

void FlagParser::Require(const std::string& name) {
  if (Flag* flag = Find(name)) flag->required = true;
}

FlagParser::Flag* FlagParser::Find(const std::string& name) {
  for (Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::Status FlagParser::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    std::string name = arg.substr(2);
    std::string inline_value;
    bool has_inline = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
      has_inline = true;
    }
    Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    flag->seen = true;
    if (flag->kind == Kind::kBool) {
      bool value = true;
      if (has_inline && !absl::SimpleAtob(inline_value, &value)) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes true or false"));
      }
      *static_cast<bool*>(flag->target) = value;
      continue;
    }
    std::vector<std::string> values;
    if (has_inline) {
      values.push_back(inline_value);
    }
    if (flag->kind == Kind::kList) {
      while (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--"))
        values.push_back(args[++i]);
    } else if (!has_inline && i + 1 < args.size()) {
      values.push_back(args[++i]);
    }
    if (values.empty())
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    switch (flag->kind) {
      case Kind::kString:
        *static_cast<std::string*>(flag->target) = values[0];
        break;
      case Kind::kList: {
        auto* list = static_cast<std::vector<std::string>*>(flag->target);
        list->insert(list->end(), values.begin(), values.end());
        break;
      }
      case Kind::kInt:
        if (!absl::SimpleAtoi(values[0], static_cast<int*>(flag->target))) {
          return absl::InvalidArgumentError(
              absl::StrCat("--", name, " takes an integer, got \"", values[0], "\""));
        }
        break;
      case Kind::kBool:
        break;
    }
  }
  for (const Flag& flag : flags_) {
    if (flag.required && !flag.seen) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag.name, " is required (see --help)"));
    }
  }
  return absl::OkStatus();
}

int Fail(const std::string& command, absl::string_view message, int exit_status) {
  std::cerr << "shardstream " << command << ": " << message << "\n";
  return exit_status;
}

std::optional<int> FlagParser::ParseOrExit(const std::vector<std::string>& args,
                                           const std::string& command) {
  absl::Status status = Parse(args);
  if (!status.ok()) {
    std::cerr << "shardstream " << command << ": " << status.message() << "\n" << Help();
    return kExitUsage;
  }
  if (help_requested_) {
    std::cout << Help();
    return kExitOk;
  }
  return std::nullopt;
}

std::string FlagParser::Help() const {
  std::string out = absl::StrCat("usage: ", usage_, "\n\n", summary_, "\n\nflags:\n");
  for (const Flag& flag : flags_) {
    std::string left = absl::StrCat("  --", flag.name);
    if (flag.kind == Kind::kList) absl::StrAppend(&left, " VALUE...");
    if (flag.kind == Kind::kString || flag.kind == Kind::kInt) absl::StrAppend(&left, " VALUE");
    absl::StrAppend(&out, left, std::string(left.size() < 28 ? 28 - left.size() : 1, ' '),
                    flag.help);
    if (flag.required) absl::StrAppend(&out, " (required)");
    if (!flag.default_text.empty()) absl::StrAppend(&out, " [default: ", flag.default_text, "]");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace shardstream::cli
