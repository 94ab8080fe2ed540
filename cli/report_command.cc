#include "cli/commands.h"
namespace shardstream::cli {
int RunReportCommand(const std::vector<std::string>& args) { return Fail("report", "todo"); }
}
