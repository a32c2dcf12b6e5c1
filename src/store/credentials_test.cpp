#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "store/internal.hpp"

namespace mbcc::store::detail {
namespace {

namespace fs = std::filesystem;

class StoreCredentials : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() / ("mbcc-creds-" + std::to_string(::getpid()));
    fs::remove_all(home_);
    fs::create_directories(home_ / ".aws");
    vars_["HOME"] = home_.string();
  }
  void TearDown() override { fs::remove_all(home_); }
  GetEnv env() {
    return [this](const char* name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end() || it->second.empty()) return std::nullopt;
      return it->second;
    };
  }
  void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }
  fs::path home_;
  std::map<std::string, std::string> vars_;
};

TEST_F(StoreCredentials, EnvironmentFirst) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  vars_["AWS_SESSION_TOKEN"] = "envtoken";
  vars_["AWS_REGION"] = "eu-west-1";
  write(home_ / ".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n");
  auto c = resolve_credentials(env());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->access_key, "AKIAENV");
  EXPECT_EQ(c->secret_key, "envsecret");
  EXPECT_EQ(c->session_token, "envtoken");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->source.find("secret"), std::string::npos);
}

TEST_F(StoreCredentials, HalfTheEnvironmentIsAnError) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  auto c = resolve_credentials(env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos);
}

TEST_F(StoreCredentials, DefaultProfileFromTheCredentialsFileRegionFromConfig) {
  write(home_ / ".aws/credentials",
        "# keys\n[other]\naws_access_key_id=AKIAOTHER\naws_secret_access_key=o\n\n"
        "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d/ef+=\naws_session_token = tok\n");
  write(home_ / ".aws/config", "[default]\nregion = ap-south-1\ns3 =\n  max_concurrent_requests = 20\n"
                                "[profile other]\nregion = us-west-2\n");
  auto c = resolve_credentials(env());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->access_key, "AKIADEF");
  EXPECT_EQ(c->secret_key, "d/ef+=");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->source, (home_ / ".aws/credentials").string() + " [default]");
}

TEST_F(StoreCredentials, NamedProfileFromFilesNamedByTheEnvironment) {
  write(home_ / "creds", "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = d\n");
  write(home_ / "conf", "[profile ci]\naws_access_key_id = AKIACI\naws_secret_access_key = c\nregion = eu-central-1\n");
  vars_["AWS_SHARED_CREDENTIALS_FILE"] = (home_ / "creds").string();
  vars_["AWS_CONFIG_FILE"] = (home_ / "conf").string();
  vars_["AWS_PROFILE"] = "ci";
  auto c = resolve_credentials(env());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->access_key, "AKIACI");  // keys in the config file count too
  EXPECT_EQ(c->region, "eu-central-1");
  vars_["AWS_DEFAULT_REGION"] = "sa-east-1";
  EXPECT_EQ(resolve_credentials(env())->region, "sa-east-1");
  vars_["AWS_REGION"] = "us-east-2";
  EXPECT_EQ(resolve_credentials(env())->region, "us-east-2");

  vars_["AWS_PROFILE"] = "missing";
  auto m = resolve_credentials(env());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("profile \"missing\""), std::string::npos);
}

TEST_F(StoreCredentials, NothingAnywhereSaysWhereItLooked) {
  auto c = resolve_credentials(env());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find((home_ / ".aws/credentials").string()), std::string::npos);
}

TEST_F(StoreCredentials, DefaultRegionAndBadRegion) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIA";
  vars_["AWS_SECRET_ACCESS_KEY"] = "s";
  EXPECT_EQ(resolve_credentials(env())->region, "us-east-1");
  vars_["AWS_REGION"] = "us-east-1\nHost: evil";  // it goes into the signing scope
  auto c = resolve_credentials(env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().field, "region");
  EXPECT_EQ(c.error().source, "AWS_REGION");
}

TEST(StoreIni, ErrorsNameFileAndLineAndNeverEchoAValue) {
  auto r = parse_ini("[default]\naws_access_key_id = A\naws_secret_access_key SECRETVALUE\n", "/h/.aws/credentials");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().source, "/h/.aws/credentials");
  EXPECT_EQ(r.error().location, "line 3");
  EXPECT_EQ(r.error().message().find("SECRETVALUE"), std::string::npos);
  auto before = parse_ini("key = v\n[default]\n", "f");
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().location, "line 1");
  EXPECT_FALSE(parse_ini("[default\n", "f").ok());
  EXPECT_FALSE(parse_ini("[a]\n  indented = x\n", "f").ok());
  auto ok = parse_ini("; c\n[ a ]\r\nk = v = w\r\n", "f");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].first, "a");
  EXPECT_EQ((*ok)[0].second[0].second, "v = w");
}

TEST_F(StoreCredentials, AHugeOrBrokenFileIsNamed) {
  write(home_ / ".aws/credentials", std::string(2u << 20, '#'));
  auto c = resolve_credentials(env());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().source, (home_ / ".aws/credentials").string());
  write(home_ / ".aws/credentials", "[default]\nbroken line\n");
  auto b = resolve_credentials(env());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().location, "line 2");
}

}  // namespace
}  // namespace mbcc::store::detail
