#include "store/store.hpp"

#include <algorithm>
#include <cctype>

#include "store/internal.hpp"

namespace mbcc::store {

namespace detail {

namespace {

bool is_bucket_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool is_unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

Result<S3Location> parse_s3_url(std::string_view url) {
  auto bad = [&](std::string allowed, std::string detail) {
    Error e;
    e.source = std::string(url);
    e.field = "S3 URL";
    e.allowed = std::move(allowed);
    e.detail = std::move(detail);
    return e;
  };
  if (!is_s3_url(url)) return bad("s3://bucket/prefix", "not an s3:// URL");
  std::string_view rest = url.substr(5);
  std::size_t slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.size() < 3 || bucket.size() > 63) {
    return bad("a bucket name of 3 to 63 characters", "the bucket name has " + std::to_string(bucket.size()));
  }
  for (char c : bucket) {
    if (!is_bucket_char(c)) {
      return bad("lowercase letters, digits, '.' and '-' in the bucket name",
                 std::string("the bucket name holds '") + c + "'");
    }
  }
  if (bucket.front() == '.' || bucket.front() == '-' || bucket.back() == '.' || bucket.back() == '-') {
    return bad("a bucket name that starts and ends with a letter or digit", "");
  }
  if (prefix.find("//") != std::string_view::npos || (!prefix.empty() && prefix.front() == '/')) {
    return bad("a prefix without empty path segments", "");
  }
  S3Location location{std::string(bucket), std::string(prefix)};
  if (!location.prefix.empty() && location.prefix.back() != '/') location.prefix += '/';
  return location;
}

Result<Endpoint> parse_endpoint(std::string_view url) {
  auto bad = [&](std::string detail) {
    Error e;
    e.source = std::string(url);
    e.field = "S3 endpoint";
    e.allowed = "http://host[:port] or https://host[:port]";
    e.detail = std::move(detail);
    return e;
  };
  Endpoint endpoint;
  endpoint.path_style = true;
  std::string_view rest;
  if (url.starts_with("http://")) {
    endpoint.scheme = "http";
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    endpoint.scheme = "https";
    rest = url.substr(8);
  } else {
    return bad("the scheme is neither http nor https");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("no host");
  for (char c : rest) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']') {
      return bad(std::string("the host part holds '") + c + "' (no path, user or query)");
    }
  }
  endpoint.host = std::string(rest);
  return endpoint;
}

Status check_key(std::string_view key, const std::string& store_url) {
  bool ok = !key.empty() && key.size() <= 1024 && key.front() != '/' && key.back() != '/' &&
            key.find('\0') == std::string_view::npos;
  std::size_t start = 0;
  while (ok && start <= key.size()) {
    std::size_t end = std::min(key.find('/', start), key.size());
    std::string_view segment = key.substr(start, end - start);
    ok = !segment.empty() && segment != "." && segment != ".." && segment.find(kTempMarker) == std::string_view::npos;
    start = end + 1;
  }
  if (ok) return Ok{};
  Error e;
  e.source = store_url;
  e.field = "key";
  e.found = "\"" + std::string(key.substr(0, 200)) + "\"";
  e.allowed = "a relative '/'-separated path of at most 1024 bytes without empty, '.' or '..' segments";
  return e;
}

Result<Endpoint> resolve_endpoint(const std::string& option, const std::function<std::optional<std::string>(const char*)>& env,
                                  const std::string& region, const std::string& bucket) {
  std::string url = option;
  if (url.empty()) url = env("AWS_ENDPOINT_URL_S3").value_or("");
  if (url.empty()) url = env("AWS_ENDPOINT_URL").value_or("");
  if (!url.empty()) return parse_endpoint(url);
  Endpoint endpoint;
  endpoint.scheme = "https";
  endpoint.host = "s3." + region + ".amazonaws.com";
  endpoint.path_style = bucket.find('.') != std::string::npos;
  return endpoint;
}

std::string bucket_url(const Endpoint& endpoint, const std::string& bucket) {
  if (endpoint.path_style) return endpoint.scheme + "://" + endpoint.host + "/" + bucket;
  return endpoint.scheme + "://" + bucket + "." + endpoint.host + "/";
}

std::string encode_key(std::string_view key) { return percent_encode(key, true); }
std::string encode_query_value(std::string_view value) { return percent_encode(value, false); }

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
    }
  }
  return text;
}

}  // namespace detail

bool is_s3_url(std::string_view url) { return url.starts_with("s3://"); }

std::filesystem::path partial_path(const std::filesystem::path& dest) {
  std::filesystem::path p = dest;
  p += ".partial";
  return p;
}

Result<std::unique_ptr<Store>> open_store(std::string_view url, const StoreOptions& options) {
  if (!is_s3_url(url)) {
    if (url.empty()) return Error::plain("store", "the store URL is empty");
    return detail::make_local_store(std::filesystem::path(url), options);
  }
  auto location = detail::parse_s3_url(url);
  if (!location) return location.error();
  detail::GetEnv env = detail::process_env();
  auto credentials = detail::resolve_credentials(env);
  if (!credentials) return credentials.error();
  auto endpoint = detail::resolve_endpoint(options.s3_endpoint, env, credentials->region, location->bucket);
  if (!endpoint) return endpoint.error();
  return detail::make_s3_store(*location, *endpoint, std::move(*credentials), options);
}

}  // namespace mbcc::store
