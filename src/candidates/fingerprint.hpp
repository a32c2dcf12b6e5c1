// What a candidate's worker is, as the files it runs and the settings it starts with: the
// identity that kept candidate runs (check/run_cache.hpp) are keyed by, so that one changed byte
// of any of them makes another candidate, whatever its version string says.
//
//   Python worker  the interpreter (resolved), every file of the environment's site-packages
//                  (PREFIX/lib/python*/site-packages, PREFIX the folder above the interpreter's
//                  bin/ as named and as resolved), the folders its .pth files add (a source
//                  build installed in place), the libmxnet.so that MXNet's libinfo would find
//                  outside an mxnet package ($MXNET_LIBRARY_PATH; ../../lib/, ../../build/ of
//                  the package), and mbcc's probe (the command's PYTHONPATH)
//   C API worker   the worker's executable, the library it is given and the lib*.so* beside it
//   both           the command's argv, and its variables that change what MXNet computes
//                  (MXNET_*, OMP_*, KMP_*, MKL_*, OPENBLAS_*, GOMP_*, DNNL_*, LD_LIBRARY_PATH,
//                  LD_PRELOAD)
//
// __pycache__ folders and .pyc files are left out: Python writes them as it imports.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "runners/pool.hpp"

namespace mbcc {

// The files `command` runs, as listed above, sorted; missing ones are left out.
std::vector<std::filesystem::path> worker_files(const runners::WorkerCommand& command);

// The sha256 of the worker's files (path and content) and settings. Hashing a release's 300 MB
// takes a second, so it is done once: the files' paths, sizes, modification and change times,
// inodes and devices are hashed instead (one stat each), and the content hash found for them is
// kept in `memo_dir` (created when missing; empty: nothing kept). Errors: a file that cannot be
// read.
Result<std::string> worker_fingerprint(const runners::WorkerCommand& command,
                                       const std::filesystem::path& memo_dir);

}  // namespace mbcc
