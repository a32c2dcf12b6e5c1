#include "check/expectations.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "check/check_result.hpp"

namespace mbcc {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

constexpr year_month_day kToday{year{2025}, month{6}, day{1}};

constexpr std::string_view kFile = R"(schema = 1

# 1.2.0 wrote structural parameter names; every later release rejects them.
[[expect]]
producer = "1.2.0"
save_api = "gluon-save-params"
load_api = ["gluon-load-params", "gluon-load-parameters"]
verdict = "LOAD_FAIL"
reason = "1.2.0 save_params wrote structural names"
link = "https://github.com/apache/mxnet/issues/11091"

[[expect]]
producer = "1.[0-4].*"
model = "mlp"
candidate = "2.*"
verdict = ["LOAD_FAIL", "RUN_FAIL"]
reason = "2.0 removed SoftmaxOutput"
link = "https://github.com/apache/mxnet/issues/19597"
expires = 2025-05-31
)";

Expectations parse_ok(std::string_view text) {
  auto parsed = parse_expectations(text, "expectations.toml");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  return parsed.ok() ? std::move(parsed).value() : Expectations{};
}

Error parse_error(std::string_view text) {
  auto parsed = parse_expectations(text, "expectations.toml");
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? Error{} : parsed.error();
}

TEST(ParseExpectations, ReadsEveryField) {
  Expectations e = parse_ok(kFile);
  ASSERT_EQ(e.entries.size(), 2U);
  const Expectation& first = e.entries[0];
  EXPECT_EQ(first.producer.patterns, std::vector<std::string>{"1.2.0"});
  EXPECT_EQ(first.model.patterns, std::vector<std::string>{"*"});  // left out
  EXPECT_EQ(first.load_api.patterns,
            (std::vector<std::string>{"gluon-load-params", "gluon-load-parameters"}));
  EXPECT_EQ(first.verdicts, VerdictSet{Verdict::kLoadFail});
  EXPECT_EQ(first.reason, "1.2.0 save_params wrote structural names");
  EXPECT_EQ(first.link, "https://github.com/apache/mxnet/issues/11091");
  EXPECT_FALSE(first.expires.has_value());
  EXPECT_EQ(first.source, "expectations.toml:4");

  const Expectation& second = e.entries[1];
  EXPECT_EQ(second.verdicts, (VerdictSet{Verdict::kLoadFail, Verdict::kRunFail}));
  EXPECT_EQ(second.expires, (year_month_day{year{2025}, month{5}, day{31}}));
  EXPECT_EQ(second.source, "expectations.toml:12");
}

TEST(ParseExpectations, SchemaAloneIsAnEmptyList) {
  EXPECT_TRUE(parse_ok("schema = 1\n").entries.empty());
}

TEST(Expectations, MatchByGlobsFirstEntryWins) {
  Expectations e = parse_ok(kFile);
  CheckKey key{"1.2.0", "lenet", "gluon-save-params", "gluon-load-parameters", "1.9.1"};
  EXPECT_EQ(e.find(key, kToday), &e.entries[0]);
  key.load_api = "gluon-imports";
  EXPECT_EQ(e.find(key, kToday), nullptr);
}

TEST(Expectations, AnEntryLivesThroughItsExpiryDay) {
  Expectations e = parse_ok(kFile);
  CheckKey key{"1.3.1", "mlp", "module-checkpoint", "module-load-checkpoint", "2.0.0"};
  const year_month_day last_day{year{2025}, month{5}, day{31}};
  EXPECT_EQ(e.find(key, last_day), &e.entries[1]);
  EXPECT_TRUE(e.expired(last_day).empty());

  EXPECT_EQ(e.find(key, kToday), nullptr);  // expired entries match nothing
  ASSERT_EQ(e.expired(kToday).size(), 1U);
  EXPECT_EQ(e.expired(kToday)[0], &e.entries[1]);
}

// A break that depends on the CPU (a kernel library choosing its code by the CPU it runs on)
// holds only on the CPUs its entry names; the parser takes this machine's vendor.
TEST(Expectations, ACpuVendorEntryHoldsOnlyOnThatVendorsMachines) {
  Expectations e = parse_ok(R"(schema = 1
[[expect]]
model      = "resnet18-v1-int8"
candidate  = "2.0.0b1"
verdict    = "NUMERIC_DRIFT"
reason     = "int8 kernels chosen by the CPU"
link       = "https://github.com/uxlfoundation/oneDNN/issues/1354"
cpu_vendor = ["AuthenticAMD", "Hygon*"]
)");
  EXPECT_EQ(e.cpu.vendor, this_cpu().vendor);
  EXPECT_FALSE(e.cpu.vendor.empty());
  ASSERT_EQ(e.entries.size(), 1U);
  const CheckKey key{"1.9.1", "resnet18-v1-int8", "gluon-export", "gluon-imports", "2.0.0b1"};
  e.cpu.vendor = "AuthenticAMD";
  EXPECT_EQ(e.find(key, kToday), &e.entries[0]);
  e.cpu.vendor = "HygonGenuine";
  EXPECT_EQ(e.find(key, kToday), &e.entries[0]);
  e.cpu.vendor = "GenuineIntel";
  EXPECT_EQ(e.find(key, kToday), nullptr);
  // a report keeps the CPUs with the entry, so that it says why a check is XFAIL on this one
  EXPECT_EQ(record_of(e.entries[0]).cpu_vendor,
            (std::vector<std::string>{"AuthenticAMD", "Hygon*"}));
}

// oneDNN's int8 convolutions compute differently without VNNI: an entry can name the flags a
// CPU must have or lack, whoever made it.
TEST(Expectations, ACpuFlagsEntryHoldsOnlyWhereEveryFlagIsAsItSays) {
  Expectations e = parse_ok(R"(schema = 1
[[expect]]
model     = "resnet18-v1-int8"
verdict   = "NUMERIC_DRIFT"
reason    = "int8 convolutions without VNNI"
link      = "https://oneapi-src.github.io/oneDNN/dev_guide_int8_computations.html"
cpu_flags = ["avx2", "!avx512_vnni"]
)");
  const Cpu machine = this_cpu();
  EXPECT_EQ(e.cpu.flags, machine.flags);
  EXPECT_TRUE(std::is_sorted(machine.flags.begin(), machine.flags.end()));
  EXPECT_TRUE(machine.has("fpu"));  // every x86-64 CPU names it
  const CheckKey key{"1.9.1", "resnet18-v1-int8", "gluon-export", "gluon-imports", "1.9.1"};
  e.cpu = Cpu{"AuthenticAMD", {"avx2", "fma"}};
  EXPECT_EQ(e.find(key, kToday), &e.entries[0]);
  e.cpu = Cpu{"GenuineIntel", {"avx2", "avx512_vnni"}};  // has what the entry needs absent
  EXPECT_EQ(e.find(key, kToday), nullptr);
  e.cpu = Cpu{"GenuineIntel", {"sse4_2"}};  // lacks what the entry needs present
  EXPECT_EQ(e.find(key, kToday), nullptr);
  EXPECT_EQ(record_of(e.entries[0]).cpu_flags, (std::vector<std::string>{"avx2", "!avx512_vnni"}));

  const char* bad =
      "schema = 1\n[[expect]]\nmodel = \"m\"\nverdict = \"LOAD_FAIL\"\n"
      "reason = \"r\"\nlink = \"https://x\"\ncpu_flags = ";
  EXPECT_EQ(parse_error(std::string(bad) + "[\"AVX2\"]\n").field, "cpu_flags");
  EXPECT_EQ(parse_error(std::string(bad) + "\"!\"\n").field, "cpu_flags");
  EXPECT_EQ(parse_error(std::string(bad) + "[]\n").field, "cpu_flags");
}

TEST(ParseExpectations, AnEntryWithoutCpuVendorHoldsOnEveryCpu) {
  Expectations e = parse_ok(kFile);
  EXPECT_EQ(e.entries[0].cpu_vendor.patterns, std::vector<std::string>{"*"});
  EXPECT_TRUE(e.entries[0].cpu_flags.empty());
  EXPECT_EQ(parse_error("schema = 1\n[[expect]]\nmodel = \"m\"\nverdict = \"LOAD_FAIL\"\n"
                        "reason = \"r\"\nlink = \"https://x\"\ncpu_vendor = 3\n")
                .field,
            "cpu_vendor");
}

TEST(GlobList, FnmatchPatterns) {
  GlobList globs{{"1.[0-4].*", "2.0.?"}};
  EXPECT_TRUE(globs.matches("1.4.1"));
  EXPECT_TRUE(globs.matches("2.0.0"));
  EXPECT_FALSE(globs.matches("1.5.0"));
  EXPECT_FALSE(globs.matches("2.0.10"));
  EXPECT_TRUE(GlobList{{"*"}}.matches("/opt/mxnet/lib/libmxnet.so"));
  EXPECT_TRUE(GlobList{{"*"}}.matches_everything());
  EXPECT_FALSE(globs.matches_everything());
}

TEST(ParseExpectations, SyntaxErrorNamesTheLine) {
  Error e = parse_error("schema = 1\n\n[[expect]\n");
  EXPECT_EQ(e.source, "expectations.toml");
  EXPECT_EQ(e.location, "line 3");
  EXPECT_FALSE(e.detail.empty());
}

TEST(ParseExpectations, SchemaIsRequiredAndMustBeOne) {
  EXPECT_EQ(parse_error("").field, "schema");
  Error e = parse_error("schema = 2\n");
  EXPECT_EQ(e.location, "line 1");
  EXPECT_EQ(e.found, "integer 2");
  EXPECT_EQ(parse_error("schema = \"1\"\n").found, "string \"1\"");
}

TEST(ParseExpectations, UnknownKeysAreErrors) {
  Error top = parse_error("schema = 1\nexpectations = []\n");
  EXPECT_EQ(top.location, "line 2");
  EXPECT_EQ(top.field, "expectations");

  Error entry = parse_error(
      "schema = 1\n[[expect]]\nproducer = \"1.2.0\"\nverdicts = \"LOAD_FAIL\"\n"
      "reason = \"r\"\nlink = \"https://x\"\n");
  EXPECT_EQ(entry.location, "line 4");
  EXPECT_EQ(entry.field, "verdicts");
  EXPECT_EQ(entry.found, "an unknown key");
  EXPECT_NE(entry.allowed.find("verdict"), std::string::npos);
}

TEST(ParseExpectations, ExpectMustBeAnArrayOfTables) {
  Error e = parse_error("schema = 1\n[expect]\nproducer = \"1.2.0\"\n");
  EXPECT_EQ(e.field, "expect");
  EXPECT_EQ(e.found, "table");
}

constexpr std::string_view kEntryHead = "schema = 1\n[[expect]]\nproducer = \"1.2.0\"\n";

TEST(ParseExpectations, VerdictMustBeAnExpectableFailure) {
  auto with_verdict = [](std::string_view verdict) {
    return std::string(kEntryHead) + "verdict = " + std::string(verdict) +
           "\nreason = \"r\"\nlink = \"https://x\"\n";
  };
  Error misspelt = parse_error(with_verdict("\"LOADFAIL\""));
  EXPECT_EQ(misspelt.location, "line 4");
  EXPECT_EQ(misspelt.field, "verdict");
  EXPECT_EQ(misspelt.found, "\"LOADFAIL\"");
  EXPECT_NE(misspelt.allowed.find("NUMERIC_DRIFT"), std::string::npos);
  EXPECT_EQ(misspelt.allowed.find("XPASS"), std::string::npos);

  EXPECT_EQ(parse_error(with_verdict("\"PASS\"")).found, "\"PASS\"");
  EXPECT_EQ(parse_error(with_verdict("\"XPASS\"")).found, "\"XPASS\"");
  EXPECT_EQ(parse_error(with_verdict("[]")).found, "[]");
  EXPECT_EQ(parse_error(with_verdict("3")).found, "integer 3");
  EXPECT_EQ(parse_error(std::string(kEntryHead) + "reason = \"r\"\nlink = \"https://x\"\n").field,
            "verdict");
}

TEST(ParseExpectations, ReasonAndAnHttpLinkAreRequired) {
  const std::string head = std::string(kEntryHead) + "verdict = \"LOAD_FAIL\"\n";
  Error no_reason = parse_error(head + "link = \"https://x\"\n");
  EXPECT_EQ(no_reason.field, "reason");
  EXPECT_EQ(no_reason.location, "line 2");  // the entry's [[expect]] line

  EXPECT_EQ(parse_error(head + "reason = \"\"\nlink = \"https://x\"\n").found, "an empty string");
  Error bad_link = parse_error(head + "reason = \"r\"\nlink = \"#11091\"\n");
  EXPECT_EQ(bad_link.field, "link");
  EXPECT_EQ(bad_link.location, "line 6");
  EXPECT_EQ(bad_link.allowed, "an http(s) URL");
}

TEST(ParseExpectations, ExpiresMustBeADate) {
  const std::string entry =
      std::string(kEntryHead) + "verdict = \"LOAD_FAIL\"\nreason = \"r\"\nlink = \"https://x\"\n";
  Error quoted = parse_error(entry + "expires = \"2025-06-30\"\n");
  EXPECT_EQ(quoted.field, "expires");
  EXPECT_EQ(quoted.location, "line 7");
  EXPECT_EQ(quoted.found, "string \"2025-06-30\"");
  EXPECT_EQ(parse_error(entry + "expires = 2025-06-30T10:00:00Z\n").found, "date-time");
  EXPECT_EQ(parse_error(entry + "expires = 2025-02-30\n").field, "TOML");  // no such day
}

TEST(ParseExpectations, GlobsMustBeNonEmptyStrings) {
  Error empty = parse_error("schema = 1\n[[expect]]\nmodel = \"\"\n");
  EXPECT_EQ(empty.field, "model");
  EXPECT_EQ(empty.found, "an empty string");
  Error number = parse_error("schema = 1\n[[expect]]\nproducer = [\"1.2.0\", 1]\n");
  EXPECT_EQ(number.field, "producer");
  EXPECT_EQ(number.found, "integer 1");
}

TEST(ParseExpectations, AnEntryMatchingEverythingIsRefused) {
  Error e = parse_error(
      "schema = 1\n[[expect]]\nproducer = \"*\"\nverdict = \"LOAD_FAIL\"\n"
      "reason = \"r\"\nlink = \"https://x\"\n");
  EXPECT_EQ(e.location, "line 2");
  EXPECT_EQ(e.found, "an entry that matches every check");
}

TEST(ReadExpectations, MissingFileIsAnError) {
  auto result = read_expectations(std::filesystem::path("/nonexistent/expectations.toml"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().source, "/nonexistent/expectations.toml");
}

}  // namespace
}  // namespace mbcc
