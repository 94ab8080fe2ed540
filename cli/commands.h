// The `shardstream` subcommands. Each takes the arguments after its name and returns the
// process exit status: 0 success, 1 the job failed, 2 bad usage.
#ifndef SHARDSTREAM_CLI_COMMANDS_H_
#define SHARDSTREAM_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/flags.h"  // exit statuses

namespace shardstream::cli {

int RunIndexCommand(const std::vector<std::string>& args);
int RunStatsCommand(const std::vector<std::string>& args);
int RunDumpCommand(const std::vector<std::string>& args);
int RunTokenizeCommand(const std::vector<std::string>& args);
int RunStreamCommand(const std::vector<std::string>& args);
int RunServeCommand(const std::vector<std::string>& args);
int RunHealthCommand(const std::vector<std::string>& args);
int RunTrainTokenizerCommand(const std::vector<std::string>& args);
int RunEncodeCommand(const std::vector<std::string>& args);
int RunDecodeCommand(const std::vector<std::string>& args);
int RunDedupCommand(const std::vector<std::string>& args);
int RunReportCommand(const std::vector<std::string>& args);

}  // namespace shardstream::cli

#endif  // SHARDSTREAM_CLI_COMMANDS_H_
