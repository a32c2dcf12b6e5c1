// mbcc: the model backward-compatibility checker for Apache MXNet. Each subcommand lives in its
// own file and registers itself here.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "mbcc: does a model saved by MXNet release X still load and compute the same "
      "outputs on release Y?"};
  app.require_subcommand(1);
  int exit_code = 0;
  mbcc::cli::add_version_and_doctor(app, exit_code);
  mbcc::cli::add_inspect(app, exit_code);
  mbcc::cli::add_convert(app, exit_code);
  mbcc::cli::add_env(app, exit_code);
  mbcc::cli::add_generate(app, exit_code);
  mbcc::cli::add_pack(app, exit_code);
  mbcc::cli::add_add(app, exit_code);
  mbcc::cli::add_check(app, exit_code);
  mbcc::cli::add_bisect(app, exit_code);
  mbcc::cli::add_publish(app, exit_code);
  mbcc::cli::add_nightly(app, exit_code);
  mbcc::cli::add_pull(app, exit_code);
  mbcc::cli::add_report(app, exit_code);
  mbcc::cli::add_ops(app, exit_code);
  mbcc::cli::add_scan(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
