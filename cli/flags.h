// Command-line flags of one `shardstream` subcommand. Only the CLI's main() parses flags; the
// libraries take options structs.
#ifndef SHARDSTREAM_CLI_FLAGS_H_
#define SHARDSTREAM_CLI_FLAGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace shardstream::cli {

// Process exit statuses of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the job failed
inline constexpr int kExitUsage = 2;   // bad command line

// Prints "shardstream <command>: <message>" on stderr and returns `exit_status`: the one way
// subcommands report an error.
int Fail(const std::string& command, absl::string_view message, int exit_status = kExitFailed);

// Accepts `--name value`, `--name=value`, bare `--flag` for booleans, and for list flags
// `--name a b c` (values up to the next `--`). Not thread-safe.
class FlagParser {
 public:
  // `usage` is the synopsis line, `summary` one paragraph on what the command does.
  FlagParser(std::string usage, std::string summary);

  void AddString(const std::string& name, std::string* value, const std::string& help);
  void AddList(const std::string& name, std::vector<std::string>* values, const std::string& help);
  void AddInt(const std::string& name, int* value, const std::string& help);
  void AddBool(const std::string& name, bool* value, const std::string& help);
  // Marks a flag as required: Parse fails when it is missing.
  void Require(const std::string& name);

  // Parses `args` (without the program and command names). INVALID_ARGUMENT says what is wrong.
  absl::Status Parse(const std::vector<std::string>& args);
  // Parse() for subcommand `command`: nullopt when the command should run; otherwise the exit
  // status to return at once, after printing the help (--help: to stdout, status 0) or the
  // error and the help (to stderr, kExitUsage).
  std::optional<int> ParseOrExit(const std::vector<std::string>& args, const std::string& command);
  bool help_requested() const { return help_requested_; }
  std::string Help() const;

 private:
  enum class Kind { kString, kList, kInt, kBool };
  struct Flag {
    std::string name;
    Kind kind;
    void* target;
    std::string help;
    std::string default_text;
    bool required = false;
    bool seen = false;
  };
  Flag* Find(const std::string& name);

  std::string usage_;
  std::string summary_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace shardstream::cli

#endif  // SHARDSTREAM_CLI_FLAGS_H_
