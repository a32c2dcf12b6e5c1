// The mbcc subcommands. Each add_* registers one subcommand on `app`; its callback stores the
// process exit code in `exit_code` (0 fine, 1 findings, 2 the command itself could not run).
#pragma once

#include <CLI/CLI.hpp>

namespace mbcc::cli {

// --version (with --verbose: as doctor) and `mbcc doctor` (exit 1 when a part is missing).
void add_version_and_doctor(CLI::App& app, int& exit_code);
void add_inspect(CLI::App& app, int& exit_code);
void add_convert(CLI::App& app, int& exit_code);
void add_env(CLI::App& app, int& exit_code);
void add_generate(CLI::App& app, int& exit_code);
void add_pack(CLI::App& app, int& exit_code);
void add_add(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_bisect(CLI::App& app, int& exit_code);
void add_publish(CLI::App& app, int& exit_code);
void add_nightly(CLI::App& app, int& exit_code);
void add_pull(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);
void add_ops(CLI::App& app, int& exit_code);
void add_scan(CLI::App& app, int& exit_code);

}  // namespace mbcc::cli
