#include "cli/commands.hpp"

namespace mbcc::cli {

void add_inspect(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Say what each file is and what it holds");
  cmd->callback([&exit_code] { exit_code = 2; });
}

}  // namespace mbcc::cli
