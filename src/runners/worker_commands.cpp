#include "runners/worker_commands.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;  // NOLINT(readability-identifier-naming)

namespace mbcc::runners {
namespace {

// Variables that would make a venv's python import another installation's modules.
constexpr std::array<std::string_view, 7> kPythonVariables = {
    "PYTHONPATH",  "PYTHONHOME",          "PYTHONSTARTUP", "PYTHONUSERBASE",
    "VIRTUAL_ENV", "__PYVENV_LAUNCHER__", "PYTHONSAFEPATH"};

// This process's environment without the variables named in `drop`.
std::vector<std::string> inherited(std::span<const std::string_view> drop) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    if (std::find(drop.begin(), drop.end(), name) == drop.end()) env.emplace_back(text);
  }
  return env;
}

}  // namespace

WorkerCommand python_worker_command(const std::filesystem::path& python,
                                    const std::filesystem::path& probe_parent) {
  WorkerCommand command{"python", {python.string(), "-m", "mbcc_probe.worker"}, {}};
  command.fork_server_argv = command.argv;
  command.fork_server_argv.emplace_back("--fork-server");
  command.env = inherited(kPythonVariables);
  command.env.push_back("PYTHONPATH=" + probe_parent.string());
  // `-m` would put the working folder first on sys.path, where a stray grp.py or json.py
  // breaks every release's import; Python 3.11 leaves it out with this (older ones ignore it).
  command.env.emplace_back("PYTHONSAFEPATH=1");
  return command;
}

WorkerCommand capi_worker_command(const std::filesystem::path& worker_executable,
                                  const std::filesystem::path& libmxnet,
                                  const std::filesystem::path& library_path) {
  constexpr std::array<std::string_view, 1> kLibraryPath = {"LD_LIBRARY_PATH"};
  WorkerCommand command{"capi", {worker_executable.string(), libmxnet.string()}, {}};
  command.env = inherited(kLibraryPath);
  std::string value = library_path.string();
  const char* old = std::getenv("LD_LIBRARY_PATH");  // NOLINT(concurrency-mt-unsafe)
  if (old != nullptr && *old != '\0') value += (value.empty() ? "" : ":") + std::string(old);
  if (!value.empty()) command.env.push_back("LD_LIBRARY_PATH=" + value);
  return command;
}

}  // namespace mbcc::runners
