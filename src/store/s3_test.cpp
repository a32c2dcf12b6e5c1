// The S3 store against a real S3-protocol server (moto, with SigV4 signatures enforced), and
// through a proxy that breaks requests on a schedule. Skipped, with the reason, when the tools
// environment with moto is missing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "base/sha256.hpp"
#include "store/cache.hpp"
#include "store/store.hpp"
#include "store/test_servers.hpp"

namespace mbcc::store {
namespace {

namespace fs = std::filesystem;
using testing::FaultProxy;
using testing::MotoServer;
using testing::ScopedEnv;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha_of(std::string_view text) { return sha256_hex(std::as_bytes(std::span(text.data(), text.size()))); }

class StoreS3 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new MotoServer(); }
  static void TearDownTestSuite() {
    delete server_;  // stops moto
    server_ = nullptr;
  }

  void SetUp() override {
    if (!server_->skip_reason.empty()) GTEST_SKIP() << server_->skip_reason;
    ASSERT_TRUE(server_->info.contains("port")) << server_->info.dump();
    prefix_ = std::string("s3://mbcc-test/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    work_ = fs::temp_directory_path() / ("mbcc-s3-test-" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_);
  }
  void TearDown() override { fs::remove_all(work_); }

  StoreOptions fast_options() const {
    StoreOptions o;
    o.s3_endpoint = server_->endpoint();
    o.max_attempts = 3;
    o.backoff_base = std::chrono::milliseconds(10);
    o.timeout = std::chrono::milliseconds(2000);  // generous for a loaded CI machine, short for stalls
    return o;
  }

  // Opens the store with the IAM user's keys in the environment and nothing else AWS-related.
  std::unique_ptr<Store> open(const StoreOptions& options, bool session = false) {
    std::string key = server_->info[session ? "session_access_key" : "access_key"];
    std::string secret = server_->info[session ? "session_secret_key" : "secret_key"];
    std::string token = session ? server_->info["session_token"].get<std::string>() : "";
    ScopedEnv k("AWS_ACCESS_KEY_ID", key.c_str()), s("AWS_SECRET_ACCESS_KEY", secret.c_str()),
        t("AWS_SESSION_TOKEN", session ? token.c_str() : nullptr), r("AWS_REGION", "us-east-1"),
        e1("AWS_ENDPOINT_URL", nullptr), e2("AWS_ENDPOINT_URL_S3", nullptr), p("AWS_PROFILE", nullptr);
    auto store = open_store(prefix_, options);
    EXPECT_TRUE(store.ok()) << store.error().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // What boto3 sees, by key, under this test's prefix.
  nlohmann::json server_objects() {
    return server_->child->command({{"cmd", "list"}, {"prefix", prefix_.substr(std::string("s3://mbcc-test/").size())}})["objects"];
  }

  fs::path write_file(const std::string& name, const std::string& bytes) {
    fs::path path = work_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static MotoServer* server_;
  std::string prefix_;
  fs::path work_;
};

MotoServer* StoreS3::server_ = nullptr;

TEST_F(StoreS3, RoundTripWithKeysThatNeedEncoding) {
  auto store = open(fast_options());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->url(), prefix_ + "/");
  // Every key is signed and sent encoded; moto checks each signature.
  std::vector<std::string> keys{"v1/plain.json", "v1/with space.bin", "v1/plus+equals=.bin", "v1/ümlaut~(1).npy"};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(store->put_bytes(keys[i], "object " + std::to_string(i)).ok()) << keys[i];
  }
  auto seen = server_objects();
  for (const std::string& key : keys) EXPECT_TRUE(seen.contains(prefix_.substr(15) + "/" + key)) << seen.dump();

  auto listed = store->list("v1/");
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  ASSERT_EQ(listed->size(), keys.size());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ((*listed)[i].key, sorted[i]);

  auto read = store->read("v1/plus+equals=.bin", 100);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(*read, "object 2");
  auto capped = store->read("v1/plus+equals=.bin", 3);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message().find("larger than the 3 bytes allowed"), std::string::npos);

  EXPECT_TRUE(*store->exists("v1/with space.bin"));
  ASSERT_TRUE(store->remove("v1/with space.bin").ok());
  EXPECT_FALSE(*store->exists("v1/with space.bin"));

  auto bad_key = store->put_bytes("v1/../escape", "x");  // the same key rules as a local store
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().field, "key");

  auto missing = store->read("v1/none", 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().source, prefix_ + "/v1/none");
  EXPECT_NE(missing.error().detail.find("404 NoSuchKey"), std::string::npos) << missing.error().message();
}

TEST_F(StoreS3, ListsPastOnePage) {
  StoreOptions options = fast_options();
  options.list_page_size = 2;
  auto store = open(options);
  ASSERT_TRUE(store);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(store->put_bytes("k/" + std::to_string(6 - i), std::string(i, 'x')).ok());
  ASSERT_TRUE(store->put_bytes("other", "x").ok());
  auto listed = store->list("k/");
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  ASSERT_EQ(listed->size(), 7u);  // four pages of two
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ((*listed)[i].key, "k/" + std::to_string(i));
    EXPECT_EQ((*listed)[i].size, static_cast<std::uint64_t>(6 - i));
  }
  EXPECT_EQ(store->list("")->size(), 8u);
}

TEST_F(StoreS3, AListingWithAKeyThatWouldEscapeAFolderIsRefused) {
  auto store = open(fast_options());
  ASSERT_TRUE(store);
  std::string bad = prefix_.substr(15) + "/v1/../../escape";
  ASSERT_EQ(server_->child->command({{"cmd", "put"}, {"key", bad}}).value("ok", false), true);
  auto listed = store->list("");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().field, "key");
  EXPECT_EQ(listed.error().found, "\"v1/../../escape\"");
}

TEST_F(StoreS3, MultipartAboveTheThresholdAndParallelGet) {
  StoreOptions options = fast_options();
  options.multipart_threshold = 5u << 20;  // S3's smallest part
  options.connections = 3;
  std::vector<TransferProgress> progress;
  options.progress = [&](const TransferProgress& p) { progress.push_back(p); };
  auto store = open(options);
  ASSERT_TRUE(store);
  std::string big = random_bytes((11u << 20) + 3, 1);
  ASSERT_TRUE(store->put("big.params", write_file("big", big)).ok());
  auto parts = server_->child->command({{"cmd", "parts"}, {"key", prefix_.substr(15) + "/big.params"}});
  EXPECT_EQ(parts["parts"], 3) << parts.dump();
  EXPECT_EQ(parts["size"], big.size());
  EXPECT_TRUE(server_->child->command({{"cmd", "uploads"}})["uploads"].empty());

  ASSERT_TRUE(store->put_bytes("small", "s").ok());
  std::vector<GetRequest> gets{{"big.params", work_ / "out/big", big.size()}, {"small", work_ / "out/small", 1}};
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->objects, 2u);
  EXPECT_EQ(stats->bytes, big.size() + 1);
  EXPECT_EQ(stats->retries, 0u);
  EXPECT_EQ(slurp(work_ / "out/big"), big);
  EXPECT_FALSE(fs::exists(partial_path(work_ / "out/big")));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().bytes_done, big.size() + 1);
  EXPECT_EQ(progress.back().objects_done, 2u);
}

TEST_F(StoreS3, ResumesAPartialTempFileWithARangedGet) {
  auto store = open(fast_options());
  ASSERT_TRUE(store);
  std::string object = random_bytes(300000, 2);
  ASSERT_TRUE(store->put_bytes("obj", object).ok());
  fs::path dest = work_ / "obj";
  std::ofstream(partial_path(dest), std::ios::binary) << object.substr(0, 100000);  // an interrupted run
  std::vector<GetRequest> gets{{"obj", dest, object.size()}};
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->bytes, 200000u);  // only the rest travelled
  EXPECT_EQ(slurp(dest), object);

  // A partial longer than the object is not a prefix of it: the download starts over.
  std::ofstream(partial_path(dest), std::ios::binary) << object << "extra";
  auto again = store->get(gets);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(slurp(dest), object);

  std::vector<GetRequest> wrong{{"obj", work_ / "wrong", object.size() + 1}};
  auto mismatch = store->get(wrong);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message().find("300000 bytes, expected 300001"), std::string::npos)
      << mismatch.error().message();
  EXPECT_FALSE(fs::exists(work_ / "wrong"));
}

TEST_F(StoreS3, SessionCredentialsFromTheEnvironment) {
  auto store = open(fast_options(), /*session=*/true);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_bytes("via-session", "s").ok());
  EXPECT_EQ(*store->read("via-session", 10), "s");
}

TEST_F(StoreS3, CredentialsFromAProfileInTheSharedFiles) {
  fs::path credentials = write_file("credentials", "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = no\n"
                                                   "[mbcc]\naws_access_key_id = " + server_->info["access_key"].get<std::string>() +
                                                   "\naws_secret_access_key = " + server_->info["secret_key"].get<std::string>() + "\n");
  fs::path config = write_file("config", "[profile mbcc]\nregion = us-east-1\n");
  ScopedEnv k("AWS_ACCESS_KEY_ID", nullptr), s("AWS_SECRET_ACCESS_KEY", nullptr), t("AWS_SESSION_TOKEN", nullptr),
      r("AWS_REGION", nullptr), d("AWS_DEFAULT_REGION", nullptr), c("AWS_SHARED_CREDENTIALS_FILE", credentials.c_str()),
      f("AWS_CONFIG_FILE", config.c_str()), p("AWS_PROFILE", "mbcc"), e("AWS_ENDPOINT_URL_S3", server_->endpoint().c_str());
  StoreOptions options = fast_options();
  options.s3_endpoint.clear();  // from AWS_ENDPOINT_URL_S3 this time
  auto store = open_store(prefix_, options);
  ASSERT_TRUE(store.ok()) << store.error().message();
  ASSERT_TRUE((*store)->put_bytes("via-profile", "p").ok());
  EXPECT_EQ(*(*store)->read("via-profile", 10), "p");
}

TEST_F(StoreS3, AWrongSecretIsRefusedAndNeverPrinted) {
  const char* secret = "wrong-secret-that-must-not-leak";
  ScopedEnv k("AWS_ACCESS_KEY_ID", server_->info["access_key"].get<std::string>().c_str()),
      s("AWS_SECRET_ACCESS_KEY", secret), t("AWS_SESSION_TOKEN", "token-that-must-not-leak"), r("AWS_REGION", "us-east-1");
  auto store = open_store(prefix_, fast_options());
  ASSERT_TRUE(store.ok());
  auto result = (*store)->put_bytes("x", "x");
  ASSERT_FALSE(result.ok());
  std::string message = result.error().message();
  EXPECT_EQ(result.error().source, prefix_ + "/x");
  EXPECT_NE(message.find("HTTP 40"), std::string::npos) << message;  // moto: 400 InvalidToken, AWS: 403
  EXPECT_EQ(message.find(secret), std::string::npos);
  EXPECT_EQ(message.find("token-that-must-not-leak"), std::string::npos);
}

class StoreS3Faults : public StoreS3 {
 protected:
  void SetUp() override {
    StoreS3::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string why;
    proxy_ = std::make_unique<FaultProxy>(testing::tools_python(why), server_->port(), /*stall=*/5.0);
    ASSERT_NE(proxy_->port, 0) << "the fault proxy did not start";
  }
  void TearDown() override {
    proxy_.reset();  // stops the proxy
    StoreS3::TearDown();
  }
  StoreOptions proxied() const {
    StoreOptions o = fast_options();
    o.s3_endpoint = proxy_->endpoint();
    return o;
  }
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(StoreS3Faults, EveryKindOfFaultIsRetriedAndNothingIsLostOrCorrupt) {
  StoreOptions options = proxied();
  options.max_attempts = 5;
  options.connections = 2;
  auto store = open(options);
  ASSERT_TRUE(store);
  std::string a = random_bytes(200000, 3), b = random_bytes(150000, 4);
  proxy_->schedule({{{"method", "PUT"}, {"fault", "reset"}, {"count", 1}},
                    {{"method", "PUT"}, {"fault", "503"}, {"count", 1}}});
  ASSERT_TRUE(store->put_bytes("a", a).ok());
  ASSERT_TRUE(store->put_bytes("b", b).ok());
  proxy_->schedule({{{"method", "GET"}, {"path", "/a"}, {"fault", "500"}, {"count", 1}},
                    {{"method", "GET"}, {"path", "/a"}, {"fault", "truncate"}, {"count", 1}},
                    {{"method", "GET"}, {"path", "/b"}, {"fault", "reset"}, {"count", 1}},
                    {{"method", "GET"}, {"path", "/b"}, {"fault", "slow"}, {"count", 1}}});
  std::vector<GetRequest> gets{{"a", work_ / "a", a.size()}, {"b", work_ / "b", b.size()}};
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_GE(stats->retries, 4u);  // one per fault (more only if the machine is very slow)
  EXPECT_EQ(proxy_->stats()["pending"], 0);
  EXPECT_EQ(slurp(work_ / "a"), a);
  EXPECT_EQ(slurp(work_ / "b"), b);
}

TEST_F(StoreS3Faults, GetRunsConnectionsTransfersAtOnceAndNoMore) {
  StoreOptions options = proxied();
  options.connections = 3;
  auto store = open(options);
  ASSERT_TRUE(store);
  std::vector<GetRequest> gets;
  for (int i = 0; i < 7; ++i) {
    std::string key = "o" + std::to_string(i);
    ASSERT_TRUE(store->put_bytes(key, key).ok());
    gets.push_back({key, work_ / key, key.size()});
  }
  proxy_->schedule({{{"method", "GET"}, {"fault", "delay"}, {"count", 7}}});
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->objects, 7u);
  EXPECT_EQ(slurp(work_ / "o6"), "o6");
  EXPECT_EQ(proxy_->stats()["max_active"], 3);  // each response waits half a second: they overlap
}

TEST_F(StoreS3Faults, ATruncatedBodyIsResumedFromWhereItStopped) {
  auto store = open(proxied());
  ASSERT_TRUE(store);
  std::string object = random_bytes(400000, 5);
  ASSERT_TRUE(store->put_bytes("obj", object).ok());
  proxy_->schedule({{{"method", "GET"}, {"fault", "truncate"}, {"count", 1}}});
  std::vector<GetRequest> gets{{"obj", work_ / "obj", object.size()}};
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_GE(stats->retries, 1u);
  EXPECT_EQ(stats->bytes, object.size());  // half, then the other half: nothing twice
  EXPECT_EQ(slurp(work_ / "obj"), object);
}

TEST_F(StoreS3Faults, ARangeAnswerFromTheWrongOffsetIsNeverSpliced) {
  auto store = open(proxied());
  ASSERT_TRUE(store);
  std::string object = random_bytes(50000, 8);
  ASSERT_TRUE(store->put_bytes("obj", object).ok());
  fs::path dest = work_ / "obj";
  std::ofstream(partial_path(dest), std::ios::binary) << object.substr(0, 20000);
  proxy_->schedule({{{"method", "GET"}, {"fault", "shift_range"}, {"count", 1}}});
  std::vector<GetRequest> gets{{"obj", dest, object.size()}};
  auto stats = store->get(gets);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(proxy_->stats()["pending"], 0);
  EXPECT_GE(stats->retries, 1u);  // the bad answer was refused, then the whole object came
  EXPECT_EQ(slurp(dest), object);
}

TEST_F(StoreS3Faults, WhenRetriesRunOutTheErrorSaysWhatHappened) {
  auto store = open(proxied());  // 3 attempts
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put_bytes("obj", "0123456789").ok());
  proxy_->schedule({{{"method", "GET"}, {"fault", "500"}, {"count", 3}}});
  std::vector<GetRequest> gets{{"obj", work_ / "obj", 10}};
  auto failed = store->get(gets);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().source, prefix_ + "/obj");
  EXPECT_NE(failed.error().detail.find("gave up after 3 attempts: HTTP 500 InternalError"), std::string::npos)
      << failed.error().message();
  EXPECT_FALSE(fs::exists(work_ / "obj"));

  proxy_->schedule({{{"method", "GET"}, {"fault", "reset"}, {"count", 3}}});
  auto reset = store->get(gets);
  ASSERT_FALSE(reset.ok());
  EXPECT_NE(reset.error().detail.find("gave up after 3 attempts"), std::string::npos) << reset.error().message();

  StoreOptions impatient = proxied();  // a stall costs a whole timeout: two are enough here
  impatient.max_attempts = 2;
  auto slow_store = open(impatient);
  proxy_->schedule({{{"method", "GET"}, {"fault", "slow"}, {"count", 2}}});
  auto slow = slow_store->get(gets);
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.error().detail.find("Timeout"), std::string::npos) << slow.error().message();
}

TEST_F(StoreS3Faults, ACorruptBodyNeverEntersTheCache) {
  auto store = open(proxied());
  ASSERT_TRUE(store);
  std::string object = random_bytes(100000, 6);
  ASSERT_TRUE(store->put_bytes("weights", object).ok());
  Cache cache(work_ / "cache", 1 << 30);
  std::vector<CacheRequest> wanted{{"weights", sha_of(object), object.size()}};
  proxy_->schedule({{{"method", "GET"}, {"fault", "corrupt"}, {"count", 1}}});
  auto corrupt = cache.fetch(*store, wanted);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().field, "sha256");
  EXPECT_EQ(corrupt.error().allowed, sha_of(object));
  EXPECT_NE(corrupt.error().source.find("weights"), std::string::npos);
  EXPECT_FALSE(fs::exists(work_ / "cache" / sha_of(object)));

  auto clean = cache.fetch(*store, wanted);  // the fault has passed
  ASSERT_TRUE(clean.ok()) << clean.error().message();
  EXPECT_EQ(slurp(clean->paths[0]), object);
  auto hit = cache.fetch(*store, wanted);
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(hit->hits, 1u);
}

TEST_F(StoreS3Faults, MultipartRetriesAPartAndAbortsWhenItCannotFinish) {
  StoreOptions options = proxied();
  options.multipart_threshold = 5u << 20;
  options.timeout = std::chrono::milliseconds(5000);  // parts are big for a Python proxy
  auto store = open(options);
  ASSERT_TRUE(store);
  std::string big = random_bytes((10u << 20) + 1, 7);
  fs::path src = write_file("big", big);
  proxy_->schedule({{{"method", "PUT"}, {"path", "partNumber=2"}, {"fault", "500"}, {"count", 1}}});
  ASSERT_TRUE(store->put("big", src).ok());
  std::vector<GetRequest> gets{{"big", work_ / "got", big.size()}};
  ASSERT_TRUE(store->get(gets).ok());
  EXPECT_EQ(slurp(work_ / "got"), big);

  proxy_->schedule({{{"method", "PUT"}, {"path", "partNumber=1"}, {"fault", "500"}, {"count", 3}}});
  auto failed = store->put("big2", src);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().source, prefix_ + "/big2");
  EXPECT_EQ(failed.error().field, "UploadPart 1");
  EXPECT_TRUE(server_->child->command({{"cmd", "uploads"}})["uploads"].empty());  // aborted
  EXPECT_FALSE(server_objects().contains(prefix_.substr(15) + "/big2"));
}

}  // namespace
}  // namespace mbcc::store
