// AWS credentials and region, resolved the way the AWS CLI and SDKs do, so a user's existing
// setup works unchanged.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "store/internal.hpp"

namespace mbcc::store::detail {

namespace {

constexpr std::uintmax_t kMaxIniBytes = 1u << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Error ini_error(const std::string& file, int line, std::string found, std::string allowed) {
  Error e;
  e.source = file;
  e.location = "line " + std::to_string(line);
  e.found = std::move(found);
  e.allowed = std::move(allowed);
  return e;
}

// Reads an INI file; a missing file is no error (nullopt), an unreadable or huge one is.
Result<std::optional<IniSections>> read_ini(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<IniSections>();
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Error::plain(path.string(), "cannot read: " + ec.message());
  if (size > kMaxIniBytes) {
    return Error::plain(path.string(), "larger than " + std::to_string(kMaxIniBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Error::plain(path.string(), "cannot read");
  auto sections = parse_ini(text.str(), path.string());
  if (!sections) return sections.error();
  return std::optional<IniSections>(std::move(*sections));
}

const std::vector<std::pair<std::string, std::string>>* find_section(const IniSections& sections,
                                                                     std::string_view name) {
  for (const auto& [section, values] : sections) {
    if (section == name) return &values;
  }
  return nullptr;
}

std::string find_value(const std::vector<std::pair<std::string, std::string>>* values,
                       std::string_view key) {
  if (values == nullptr) return {};
  for (const auto& [k, v] : *values) {
    if (k == key) return v;
  }
  return {};
}

std::filesystem::path aws_file(const GetEnv& env, const char* variable, const char* name) {
  if (auto v = env(variable)) return *v;
  if (auto home = env("HOME")) return std::filesystem::path(*home) / ".aws" / name;
  return {};
}

Status check_region(const std::string& region, const std::string& source) {
  bool ok = !region.empty() && region.size() <= 32;
  for (char c : region) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  if (ok) return Ok{};
  Error e;
  e.source = source;
  e.field = "region";
  e.found = region;
  e.allowed = "lowercase letters, digits and '-' (us-east-1)";
  return e;
}

}  // namespace

GetEnv process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Result<IniSections> parse_ini(std::string_view text, const std::string& file) {
  IniSections sections;
  bool in_nested = false;  // indented lines under "s3 =" and the like: AWS sub-settings
  int number = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++number;
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    bool indented = raw.front() == ' ' || raw.front() == '\t';
    if (indented && in_nested) continue;
    if (indented) return ini_error(file, number, std::string(line), "an indented line only under \"key =\"");
    in_nested = false;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return ini_error(file, number, std::string(line), "a section header \"[name]\"");
      }
      sections.emplace_back(std::string(trim(line.substr(1, line.size() - 2))), std::vector<std::pair<std::string, std::string>>{});
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      // The line may hold a secret: say only that it is malformed, never echo it.
      return ini_error(file, number, "a line without \"key = value\"", "\"key = value\", \"[section]\" or a comment");
    }
    if (sections.empty()) return ini_error(file, number, "a setting before any section", "\"[section]\" first");
    std::string key(trim(line.substr(0, eq)));
    std::string value(trim(line.substr(eq + 1)));
    in_nested = value.empty();
    sections.back().second.emplace_back(std::move(key), std::move(value));
  }
  return sections;
}

Result<Credentials> resolve_credentials(const GetEnv& env) {
  Credentials c;
  auto key = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  std::string profile = env("AWS_PROFILE").value_or("default");
  bool profile_named = env("AWS_PROFILE").has_value();
  std::filesystem::path credentials_file = aws_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  std::filesystem::path config_file = aws_file(env, "AWS_CONFIG_FILE", "config");

  std::optional<IniSections> credentials_ini;
  std::optional<IniSections> config_ini;
  if (!credentials_file.empty()) {
    auto r = read_ini(credentials_file);
    if (!r) return r.error();
    credentials_ini = std::move(*r);
  }
  if (!config_file.empty()) {
    auto r = read_ini(config_file);
    if (!r) return r.error();
    config_ini = std::move(*r);
  }
  const auto* in_credentials = credentials_ini ? find_section(*credentials_ini, profile) : nullptr;
  const auto* in_config = config_ini ? find_section(*config_ini, profile == "default" ? "default" : "profile " + profile) : nullptr;

  if (key || secret) {
    if (!key || !secret) {
      return Error::plain("AWS credentials", std::string(key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                                                 " is not set while " +
                                                 (key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") + " is");
    }
    c.access_key = *key;
    c.secret_key = *secret;
    c.session_token = env("AWS_SESSION_TOKEN").value_or("");
    c.source = "environment (AWS_ACCESS_KEY_ID)";
  } else {
    if (profile_named && in_credentials == nullptr && in_config == nullptr) {
      return Error::plain("AWS credentials", "profile \"" + profile + "\" (AWS_PROFILE) is in neither " +
                                                 credentials_file.string() + " nor " + config_file.string());
    }
    // The credentials file wins over the config file, key by key as the AWS CLI does.
    for (const auto* values : {in_credentials, in_config}) {
      if (values == nullptr || !c.access_key.empty()) continue;
      c.access_key = find_value(values, "aws_access_key_id");
      c.secret_key = find_value(values, "aws_secret_access_key");
      c.session_token = find_value(values, "aws_session_token");
      std::string file = values == in_credentials ? credentials_file.string() : config_file.string();
      c.source = file + " [" + profile + "]";
      if (c.access_key.empty() != c.secret_key.empty()) {
        return Error::plain(file, "profile \"" + profile + "\" has one of aws_access_key_id and "
                                  "aws_secret_access_key without the other");
      }
    }
    if (c.access_key.empty()) {
      return Error::plain("AWS credentials",
                          "none found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put profile \"" +
                              profile + "\" in " + credentials_file.string());
    }
  }

  std::string region_source = "AWS_REGION";
  if (auto r = env("AWS_REGION")) {
    c.region = *r;
  } else if (auto d = env("AWS_DEFAULT_REGION")) {
    c.region = *d;
    region_source = "AWS_DEFAULT_REGION";
  } else if (std::string p = find_value(in_config, "region"); !p.empty()) {
    c.region = p;
    region_source = config_file.string() + " [" + profile + "]";
  } else {
    c.region = "us-east-1";
  }
  MBCC_TRY(check_region(c.region, region_source));
  return c;
}

}  // namespace mbcc::store::detail
