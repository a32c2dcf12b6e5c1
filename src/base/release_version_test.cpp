#include "base/release_version.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mbcc {
namespace {

ReleaseVersion v(const char* text) {
  Result<ReleaseVersion> parsed = parse_release_version(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : ReleaseVersion{};
}

TEST(ReleaseVersion, OrdersAsPipDoes) {
  const std::vector<const char*> ordered = {"0.11.0",      "0.12.1", "1.2.1",      "1.7.0",
                                            "1.7.0.post2", "1.10.0", "2.0.0a0",    "2.0.0b1",
                                            "2.0.0rc1",    "2.0.0",  "2.0.0.post1"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      EXPECT_EQ(v(ordered[i]) < v(ordered[j]), i < j) << ordered[i] << " vs " << ordered[j];
    }
  }
}

TEST(ReleaseVersion, SpellingsOfOneReleaseAreEqual) {
  EXPECT_EQ(v("2.0.0b1"), v("2.0.0.beta1"));  // the 2.0 branch's tags
  EXPECT_EQ(v("2.0.0b1"), v("2.0.0beta1"));   // 2.0's own __version__
  EXPECT_EQ(v("2.0.0a0"), v("2.0.0.alpha"));
  EXPECT_EQ(v("1.7"), v("1.7.0"));
  EXPECT_TRUE(v("2.0.0a0").is_prerelease());
  EXPECT_FALSE(v("1.8.0.post0").is_prerelease());
}

TEST(ReleaseVersion, RefusesWhatIsNoVersion) {
  for (const char* bad : {"", "latest", "1.9.1-rc", "1..2", "v1.9.1", "1.8.0.post", "1.9.1 "}) {
    Result<ReleaseVersion> parsed = parse_release_version(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message().find("a version such as"), std::string::npos);
  }
}

TEST(ReleaseVersion, NamesThatAreNoVersionComeAfterReleases) {
  EXPECT_TRUE(release_name_less("1.9.1", "2.0.0a0"));
  EXPECT_TRUE(release_name_less("1.10.0", "my-build"));
  EXPECT_FALSE(release_name_less("my-build", "1.10.0"));
  EXPECT_TRUE(release_name_less("a-build", "b-build"));
  EXPECT_TRUE(release_name_less("rc-2", "rc-10"));
}

}  // namespace
}  // namespace mbcc
