#include "report/junit.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "report/test_run.hpp"

namespace mbcc {
namespace {

// Just enough of an XML parser to prove the report well-formed: elements, quoted attributes,
// character data and the five entities plus character references. It throws on anything a
// conforming parser would reject that the writer could plausibly produce: a raw `<` or `&`,
// "]]>" in text, an unknown entity, a mismatched end tag, a duplicate attribute.
struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<XmlElement> children;
  std::string text;

  const XmlElement& child(const std::string& child_name, std::size_t nth = 0) const {
    for (const XmlElement& c : children) {
      if (c.name == child_name && nth-- == 0) return c;
    }
    throw std::runtime_error("no <" + child_name + "> in <" + name + ">");
  }
  std::size_t count(const std::string& child_name) const {
    std::size_t n = 0;
    for (const XmlElement& c : children) n += c.name == child_name ? 1 : 0;
    return n;
  }
};

class XmlParser {
 public:
  explicit XmlParser(std::string_view text) : s_(text) {}

  XmlElement document() {
    if (s_.substr(0, 5) == "<?xml") i_ = s_.find("?>") + 2;
    skip_space();
    XmlElement root = element();
    skip_space();
    if (i_ != s_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(why + " at offset " + std::to_string(i_));
  }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    if (i_ >= s_.size() || s_[i_] != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string name() {
    const std::size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '_' || s_[i_] == ':')) {
      ++i_;
    }
    if (i_ == start) fail("expected a name");
    return std::string(s_.substr(start, i_ - start));
  }
  std::string decode(std::string_view raw) const {
    if (raw.find('<') != std::string_view::npos) fail("raw '<' in character data");
    if (raw.find("]]>") != std::string_view::npos) fail("\"]]>\" in character data");
    static const std::map<std::string, std::string> kEntities = {
        {"lt", "<"}, {"gt", ">"}, {"amp", "&"}, {"quot", "\""}, {"apos", "'"}};
    std::string out;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      const std::size_t end = raw.find(';', k);
      if (end == std::string_view::npos) fail("unterminated entity");
      const std::string entity(raw.substr(k + 1, end - k - 1));
      if (entity.starts_with("#")) {
        const long code = entity.starts_with("#x") ? std::stol(entity.substr(2), nullptr, 16)
                                                   : std::stol(entity.substr(1));
        if (code > 0x7f) fail("only ASCII character references are expected here");
        out += static_cast<char>(code);
      } else if (auto it = kEntities.find(entity); it != kEntities.end()) {
        out += it->second;
      } else {
        fail("unknown entity &" + entity + ";");
      }
      k = end;
    }
    return out;
  }
  XmlElement element() {
    XmlElement e;
    expect('<');
    e.name = name();
    while (true) {
      skip_space();
      if (s_.substr(i_, 2) == "/>") {
        i_ += 2;
        return e;
      }
      if (i_ < s_.size() && s_[i_] == '>') {
        ++i_;
        break;
      }
      std::string key = name();
      expect('=');
      const char quote = s_[i_];
      if (quote != '"' && quote != '\'') fail("unquoted attribute");
      const std::size_t end = s_.find(quote, ++i_);
      if (end == std::string_view::npos) fail("unterminated attribute");
      if (!e.attributes.emplace(key, decode(s_.substr(i_, end - i_))).second) {
        fail("duplicate attribute " + key);
      }
      i_ = end + 1;
    }
    while (true) {
      if (i_ >= s_.size()) fail("unterminated <" + e.name + ">");
      if (s_.substr(i_, 2) == "</") {
        i_ += 2;
        if (name() != e.name) fail("mismatched end tag of <" + e.name + ">");
        skip_space();
        expect('>');
        return e;
      }
      if (s_.substr(i_, 2) == "<!" || s_.substr(i_, 2) == "<?") fail("unexpected markup");
      if (s_[i_] == '<') {
        e.children.push_back(element());
        continue;
      }
      const std::size_t end = s_.find('<', i_);
      e.text += decode(s_.substr(i_, end - i_));
      i_ = end;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

XmlElement parse(const std::string& xml) { return XmlParser(xml).document(); }

TEST(JunitNames, DotsInsideEachPartBecomeUnderscores) {
  const CheckKey key{"1.10.0", "bn.cnn", "gluon-export", "gluon-imports", "1.9.1"};
  EXPECT_EQ(junit_classname(key), "1_10_0.bn_cnn.gluon-export");
  EXPECT_EQ(junit_name(key), "gluon-imports@1.9.1");
}

TEST(JunitXml, CountsMatchTheVerdicts) {
  const XmlElement root = parse(junit_xml(test_run()));
  EXPECT_EQ(root.name, "testsuites");
  EXPECT_EQ(root.attributes.at("tests"), "7");  // six checks and one expired expectation
  EXPECT_EQ(root.attributes.at("failures"), "3");
  EXPECT_EQ(root.attributes.at("errors"), "1");
  EXPECT_EQ(root.attributes.at("skipped"), "1");

  ASSERT_EQ(root.count("testsuite"), 3U);
  const XmlElement& first = root.child("testsuite", 0);
  EXPECT_EQ(first.attributes.at("name"), "mbcc@1.9.1");
  EXPECT_EQ(first.attributes.at("tests"), "5");
  EXPECT_EQ(root.child("testsuite", 1).attributes.at("name"), "mbcc@2.0.0");
  EXPECT_EQ(root.child("testsuite", 1).child("testcase").child("error").attributes.at("type"),
            "ARTIFACT_CORRUPT");
  const XmlElement& expired = root.child("testsuite", 2).child("testcase");
  EXPECT_EQ(expired.attributes.at("name"), "corpus/expectations.toml:20");
  EXPECT_EQ(expired.child("failure").attributes.at("type"), "EXPIRED_EXPECTATION");
}

TEST(JunitXml, EachCheckIsATestcaseWithItsOutcome) {
  const XmlElement suite = parse(junit_xml(test_run())).child("testsuite");
  const XmlElement& pass = suite.child("testcase", 0);
  EXPECT_EQ(pass.attributes.at("classname"), "1_5_1.lenet.gluon-export");
  EXPECT_EQ(pass.attributes.at("name"), "gluon-imports@1.9.1");
  EXPECT_EQ(pass.attributes.at("time"), "0.155");
  EXPECT_TRUE(pass.children.empty());

  const XmlElement& drift = suite.child("testcase", 1).child("failure");
  EXPECT_EQ(drift.attributes.at("type"), "NUMERIC_DRIFT");
  EXPECT_NE(drift.text.find("worst at (0, 1): actual 2.5 (0x40200000), golden 2 (0x40000000)"),
            std::string::npos);
  EXPECT_NE(drift.text.find("first diverging node: conv1_fwd (Convolution)"), std::string::npos);

  const XmlElement& xfail = suite.child("testcase", 2);
  EXPECT_EQ(xfail.count("failure"), 0U);
  EXPECT_NE(xfail.child("system-out").text.find("1.2.0 wrote structural names"), std::string::npos);

  EXPECT_EQ(suite.child("testcase", 4).child("skipped").attributes.at("message"),
            "UNSUPPORTED: the bundle has no symbol file for the predict API");
}

TEST(JunitXml, MarkupInMessagesSurvivesAsText) {
  const std::string xml = junit_xml(test_run());
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find("]]>"), std::string::npos);
  const XmlElement root = parse(xml);
  const XmlElement& failure = root.child("testsuite").child("testcase", 3).child("failure");
  const std::string first_line =
      "MXNetError: Failed loading Op <script>alert(\"x\")</script> of type Soft]]>Max & co";
  EXPECT_NE(failure.text.find(first_line + "\n  Stack trace:"), std::string::npos);
  EXPECT_EQ(failure.attributes.at("message"),
            "LOAD_FAIL: message [missing_operator Soft]: " + first_line);
}

TEST(JunitXml, ControlCharactersAndBadUtf8AreReplaced) {
  RunResult run = test_run();
  run.checks[3].message->text = "nul\x01 tab\t bad\xC3(";
  const XmlElement root = parse(junit_xml(run));
  const XmlElement& failure = root.child("testsuite").child("testcase", 3).child("failure");
  EXPECT_NE(failure.text.find("nul\xEF\xBF\xBD tab\t bad\xEF\xBF\xBD("), std::string::npos);
}

TEST(JunitXml, MultiLineAttributesKeepTheirLineBreaks) {
  RunResult run = test_run();
  run.checks[4].detail = "first\nsecond";
  const XmlElement with_detail = parse(junit_xml(run));
  EXPECT_EQ(
      with_detail.child("testsuite").child("testcase", 4).child("skipped").attributes.at("message"),
      "UNSUPPORTED: first");  // the summary line only
  run.run_errors = {"store unreachable:\n  connection refused"};
  const XmlElement root = parse(junit_xml(run));
  const XmlElement& error = root.child("testsuite", 3).child("testcase").child("error");
  EXPECT_EQ(error.attributes.at("message"), "store unreachable:\n  connection refused");
  EXPECT_EQ(root.attributes.at("errors"), "2");
}

}  // namespace
}  // namespace mbcc
