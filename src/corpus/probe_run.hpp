// Runs python/mbcc_probe inside a release's environment and streams its stdout, one JSON line
// per case, to a callback as each case finishes, so generate can publish bundles while the
// probe works on the next case. Internal to the corpus part.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc::corpus::detail {

struct ProbeCommand {
  std::filesystem::path python;       // the environment's interpreter
  std::vector<std::string> args;      // after the interpreter: {"-m", "mbcc_probe", …}
  std::filesystem::path python_dir;   // put on PYTHONPATH: the folder holding mbcc_probe
  std::filesystem::path cwd;          // MXNet 2.0's Block.save writes into the cwd
  std::filesystem::path stderr_file;  // MXNet's chatter and the probe's progress
  std::chrono::seconds timeout{};     // for the whole run of one release
};

struct ProbeExit {
  int code = -1;
  int signal = 0;
  bool timed_out = false;
  bool ok() const { return code == 0 && signal == 0 && !timed_out; }
  std::string describe() const;  // "exit status 2", "killed by signal 9", "timed out"
};

// Starts the probe in a process group of its own that dies with this process (so a killed
// `mbcc generate` leaves no probe writing on), feeds every complete stdout line to `on_line`,
// and waits for it. Past the timeout the whole group is killed.
Result<ProbeExit> run_probe(const ProbeCommand& command,
                            const std::function<void(std::string_view line)>& on_line);

// The last `max_lines` lines of a text file, joined with " | "; "" when unreadable.
std::string tail_lines(const std::filesystem::path& file, std::size_t max_lines);

}  // namespace mbcc::corpus::detail
