// Where mbcc's own files are, as this test binary (which lives in the build tree) sees them. The
// installed layout is tested on a real `cmake --install` in python/tests/test_install.py.
#include "base/install_dirs.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "base/scoped_env.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

TEST(InstallDirs, TheBuildTreeUsesItsCheckout) {
  ScopedEnv no_probe("MBCC_PYTHON_DIR", nullptr);
  ScopedEnv no_corpus("MBCC_CORPUS_DIR", nullptr);
  ScopedEnv no_docs("MBCC_DOC_DIR", nullptr);
  const fs::path source = MBCC_SOURCE_DIR;
  EXPECT_EQ(locate(InstalledPart::kProbe).path, source / "python");
  EXPECT_EQ(locate(InstalledPart::kCorpus).found_by, "build tree");
  EXPECT_EQ(*find_installed(InstalledPart::kCorpus), source / "corpus");
  EXPECT_EQ(*find_installed(InstalledPart::kDocs), source / "docs");
  EXPECT_TRUE(find_installed(InstalledPart::kProbe).ok());
}

TEST(InstallDirs, AVariableOverridesAndIsNamedWhenWrong) {
  const fs::path source = MBCC_SOURCE_DIR;
  {
    ScopedEnv corpus("MBCC_CORPUS_DIR", (source / "corpus").c_str());
    EXPECT_EQ(locate(InstalledPart::kCorpus).found_by, "MBCC_CORPUS_DIR");
    EXPECT_EQ(*find_installed(InstalledPart::kCorpus), source / "corpus");
  }
  ScopedEnv probe("MBCC_PYTHON_DIR", (source / "src").c_str());
  Result<fs::path> found = find_installed(InstalledPart::kProbe);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().message(),
            (source / "src").string() +
                ": mbcc's probe (MBCC_PYTHON_DIR) has no mbcc_probe/__main__.py; fix or unset "
                "MBCC_PYTHON_DIR");
}

}  // namespace
}  // namespace mbcc
