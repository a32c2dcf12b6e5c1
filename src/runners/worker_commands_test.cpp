#include "runners/worker_commands.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace mbcc::runners {
namespace {

// The values `command` gives `name` (it should give one at most).
std::vector<std::string> values_of(const WorkerCommand& command, const std::string& name) {
  std::vector<std::string> values;
  for (const std::string& entry : command.env) {
    if (entry.starts_with(name + "=")) values.push_back(entry.substr(name.size() + 1));
  }
  return values;
}

TEST(WorkerCommands, PythonWorkerSeesOnlyTheProbe) {
  ::setenv("PYTHONHOME", "/elsewhere", 1);
  ::setenv("PYTHONPATH", "/elsewhere/lib", 1);
  const WorkerCommand command = python_worker_command("/envs/1.9.1/bin/python", "/src/mbcc/python");
  ::unsetenv("PYTHONHOME");
  ::unsetenv("PYTHONPATH");
  EXPECT_EQ(command.kind, "python");
  EXPECT_EQ(command.argv,
            (std::vector<std::string>{"/envs/1.9.1/bin/python", "-m", "mbcc_probe.worker"}));
  EXPECT_EQ(command.fork_server_argv,
            (std::vector<std::string>{"/envs/1.9.1/bin/python", "-m", "mbcc_probe.worker",
                                      "--fork-server"}));
  EXPECT_EQ(values_of(command, "PYTHONPATH"), std::vector<std::string>{"/src/mbcc/python"});
  EXPECT_TRUE(values_of(command, "PYTHONHOME").empty());
  EXPECT_EQ(values_of(command, "PYTHONSAFEPATH"), std::vector<std::string>{"1"});
}

TEST(WorkerCommands, CapiWorkerGetsTheLibraryPathFirst) {
  ::setenv("LD_LIBRARY_PATH", "/usr/local/lib", 1);
  const WorkerCommand command = capi_worker_command("/build/mbcc-capi-worker",
                                                    "/envs/0.12.0/libmxnet.so", "/envs/0.12.0/lib");
  const WorkerCommand plain = capi_worker_command("/build/mbcc-capi-worker", "/x/libmxnet.so", "");
  ::unsetenv("LD_LIBRARY_PATH");
  const WorkerCommand bare = capi_worker_command("/build/mbcc-capi-worker", "/x/libmxnet.so", "");
  EXPECT_EQ(command.argv,
            (std::vector<std::string>{"/build/mbcc-capi-worker", "/envs/0.12.0/libmxnet.so"}));
  EXPECT_EQ(values_of(command, "LD_LIBRARY_PATH"),
            std::vector<std::string>{"/envs/0.12.0/lib:/usr/local/lib"});
  EXPECT_EQ(values_of(plain, "LD_LIBRARY_PATH"), std::vector<std::string>{"/usr/local/lib"});
  EXPECT_TRUE(values_of(bare, "LD_LIBRARY_PATH").empty());
}

}  // namespace
}  // namespace mbcc::runners
