#include "candidates/fingerprint.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// A release's environment as mbcc makes one: a venv whose python links to an interpreter, the
// mxnet package with its library, numpy, an imported module's .pyc, and mbcc's probe.
class FingerprintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "mbcc-fingerprint-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    write(dir_ / "interpreter" / "bin" / "python3.11", "an interpreter");
    write(dir_ / "venv" / "pyvenv.cfg", "home = interpreter\n");
    fs::create_directories(dir_ / "venv" / "bin");
    fs::create_symlink(dir_ / "interpreter" / "bin" / "python3.11",
                       dir_ / "venv" / "bin" / "python");
    site_ = dir_ / "venv" / "lib" / "python3.11" / "site-packages";
    write(site_ / "mxnet" / "__init__.py", "import mxnet");
    write(site_ / "mxnet" / "libmxnet.so", "the library");
    write(site_ / "mxnet" / "libgfortran.so.3", "a library it needs");
    write(site_ / "mxnet" / "__pycache__" / "__init__.cpython-311.pyc", "compiled");
    write(site_ / "numpy" / "__init__.py", "import numpy");
    write(dir_ / "probe" / "mbcc_probe" / "worker.py", "the probe");
    python_ = {"python",
               {(dir_ / "venv" / "bin" / "python").string(), "-m", "mbcc_probe.worker"},
               {"PYTHONPATH=" + (dir_ / "probe").string(), "TERM=xterm", "OMP_NUM_THREADS=1"}};
    capi_ = {"capi",
             {(dir_ / "mbcc-capi-worker").string(), (site_ / "mxnet" / "libmxnet.so").string()},
             {}};
    write(dir_ / "mbcc-capi-worker", "the C API worker");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
  }
  std::string fingerprint(const runners::WorkerCommand& command) {
    Result<std::string> fingerprint = worker_fingerprint(command, dir_ / "memo");
    EXPECT_TRUE(fingerprint.ok()) << fingerprint.error().message();
    return fingerprint.ok() ? *fingerprint : "";
  }

  fs::path dir_;
  fs::path site_;
  runners::WorkerCommand python_;
  runners::WorkerCommand capi_;
};

TEST_F(FingerprintTest, APythonWorkerIsItsInterpreterPackagesAndProbe) {
  const std::vector<fs::path> files = worker_files(python_);
  auto has = [&files](const fs::path& file) {
    return std::find(files.begin(), files.end(), file) != files.end();
  };
  EXPECT_TRUE(has(dir_ / "interpreter" / "bin" / "python3.11"));
  EXPECT_TRUE(has(dir_ / "venv" / "pyvenv.cfg"));
  EXPECT_TRUE(has(site_ / "mxnet" / "libmxnet.so"));
  EXPECT_TRUE(has(site_ / "numpy" / "__init__.py"));
  EXPECT_TRUE(has(dir_ / "probe" / "mbcc_probe" / "worker.py"));
  EXPECT_FALSE(has(site_ / "mxnet" / "__pycache__" / "__init__.cpython-311.pyc"));
  EXPECT_EQ(files.size(), 7U);
}

TEST_F(FingerprintTest, ASourceBuildInstalledInPlaceIsItsPackageAndLibrary) {
  write(dir_ / "mxnet-src" / "python" / "mxnet" / "__init__.py", "a source build");
  write(dir_ / "mxnet-src" / "lib" / "libmxnet.so", "its library");
  write(site_ / "mxnet-src.pth", (dir_ / "mxnet-src" / "python").string() + "\nimport x\n");
  const std::vector<fs::path> files = worker_files(python_);
  for (const fs::path& file : {dir_ / "mxnet-src" / "python" / "mxnet" / "__init__.py",
                               dir_ / "mxnet-src" / "lib" / "libmxnet.so"}) {
    EXPECT_NE(std::find(files.begin(), files.end(), file), files.end()) << file;
  }
  const std::string before = fingerprint(python_);
  write(dir_ / "mxnet-src" / "lib" / "libmxnet.so", "its library, rebuilt");
  EXPECT_NE(fingerprint(python_), before);
}

TEST_F(FingerprintTest, ACApiWorkerIsItsExecutableAndTheLibrariesBesideItsLibrary) {
  const std::vector<fs::path> files = worker_files(capi_);
  EXPECT_EQ(files,
            (std::vector<fs::path>{dir_ / "mbcc-capi-worker", site_ / "mxnet" / "libgfortran.so.3",
                                   site_ / "mxnet" / "libmxnet.so"}));
}

TEST_F(FingerprintTest, OneChangedByteIsAnotherCandidate) {
  const std::string python = fingerprint(python_);
  const std::string capi = fingerprint(capi_);
  EXPECT_EQ(python.size(), 64U);
  EXPECT_NE(python, capi);
  EXPECT_EQ(fingerprint(python_), python);  // unchanged, as often as it is asked
  write(site_ / "mxnet" / "libmxnet.so", "the librarx");
  EXPECT_NE(fingerprint(python_), python);
  EXPECT_NE(fingerprint(capi_), capi);
  write(site_ / "mxnet" / "libmxnet.so", "the library");
  EXPECT_EQ(fingerprint(python_), python);  // the content is what counts, not the times
}

TEST_F(FingerprintTest, WhatImportsWriteAndUnrelatedVariablesChangeNothing) {
  const std::string python = fingerprint(python_);
  write(site_ / "mxnet" / "__pycache__" / "__init__.cpython-311.pyc", "compiled again");
  write(site_ / "numpy" / "__pycache__" / "__init__.cpython-311.pyc", "compiled");
  python_.env[1] = "TERM=dumb";
  EXPECT_EQ(fingerprint(python_), python);
  python_.env[2] = "OMP_NUM_THREADS=2";  // changes what MXNet computes
  EXPECT_NE(fingerprint(python_), python);
}

TEST_F(FingerprintTest, UnchangedFilesAreNotHashedAgain) {
  const std::string python = fingerprint(python_);
  std::vector<fs::path> memos;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_ / "memo")) {
    memos.push_back(entry.path());
  }
  ASSERT_EQ(memos.size(), 1U);
  // The memo, not the files, gives the content's hash while their stats are unchanged.
  write(memos[0], std::string(64, 'a'));
  EXPECT_NE(fingerprint(python_), python);
  write(memos[0], "not a hash");  // a damaged memo is hashed anew
  EXPECT_EQ(fingerprint(python_), python);
}

}  // namespace
}  // namespace mbcc
