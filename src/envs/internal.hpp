// Internals of the envs part, shared by its .cpp files and its tests; not for other parts.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc::envs {

// A version string safe to use as a folder name and a pip pin: starts with a digit, then
// letters, digits and . - _ + only, no "..", at most 64 characters.
Status validate_version(std::string_view version);

// The folder name of the environment `version` names (envs.hpp: parse_env_spec).
Result<std::string> canonical_release(std::string_view version);

namespace detail {

struct Exit {
  int code = -1;   // exit status when the process exited
  int signal = 0;  // the signal that killed it, or 0
  bool timed_out = false;
  bool ok() const { return code == 0 && signal == 0 && !timed_out; }
  std::string describe() const;  // "exit status 1", "killed by signal 9", "timed out after …"
};

// Runs `argv` (argv[0] looked up in PATH) in its own process group with stdin from /dev/null,
// stdout appended to `out` and stderr written to `err` (truncated first). The environment is
// this process's, minus variables that would break a venv (PYTHONPATH, PYTHONHOME, …), plus
// `extra_env` ("NAME=value", overriding). Past `timeout` the process group is killed.
Result<Exit> run(const std::vector<std::string>& argv, const std::filesystem::path& out,
                 const std::filesystem::path& err, const std::vector<std::string>& extra_env,
                 std::chrono::seconds timeout);

// The last `max_lines` lines of a file, at most `max_bytes` bytes of it; "" when unreadable.
std::string file_tail(const std::filesystem::path& file, std::size_t max_lines,
                      std::size_t max_bytes);

}  // namespace detail
}  // namespace mbcc::envs
