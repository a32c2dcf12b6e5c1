// The two runner kinds, as commands a Pool starts: the Python worker inside a candidate's
// Python environment, and the C API worker on a candidate's libmxnet.so. Each gets this
// process's environment, minus what would point it at another installation, plus what it needs.
#pragma once

#include <filesystem>

#include "runners/pool.hpp"

namespace mbcc::runners {

// `python -m mbcc_probe.worker` with the candidate's interpreter, whose fork server is the same
// with `--fork-server` (MXNet 0.11 to 2.0 all serve forked workers). `probe_parent` is the folder
// that holds the mbcc_probe package (python/ in the source tree); it becomes PYTHONPATH.
WorkerCommand python_worker_command(const std::filesystem::path& python,
                                    const std::filesystem::path& probe_parent);

// `mbcc-capi-worker LIBMXNET`. `library_path` (may be empty) goes in front of LD_LIBRARY_PATH:
// 0.12.x needs libraries the system lacks (envs::Env::library_path).
WorkerCommand capi_worker_command(const std::filesystem::path& worker_executable,
                                  const std::filesystem::path& libmxnet,
                                  const std::filesystem::path& library_path);

}  // namespace mbcc::runners
