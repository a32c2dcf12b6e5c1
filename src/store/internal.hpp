// The pieces of the store part that its tests reach directly: URL parsing, credentials, the S3
// XML bodies, key encoding, redaction. Not for other parts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/store.hpp"

namespace mbcc::store::detail {

// ---------------------------------------------------------------------------------------------
// Locations.

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or ending in '/'
};
// "s3://bucket" or "s3://bucket/some/prefix[/]"; the bucket name follows S3's rules.
Result<S3Location> parse_s3_url(std::string_view url);

struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // with ":port" when one was given
  bool path_style = false;
};
// An explicit endpoint URL ("http://127.0.0.1:9000") means path-style addressing; none means AWS
// itself (virtual-host style, https).
Result<Endpoint> parse_endpoint(std::string_view url);

// The endpoint a store uses: `option` (--s3-endpoint), else AWS_ENDPOINT_URL_S3, else
// AWS_ENDPOINT_URL, else AWS in `region` (virtual-host style, or path style for a bucket name
// with dots, which the wildcard certificate does not cover).
Result<Endpoint> resolve_endpoint(const std::string& option, const std::function<std::optional<std::string>(const char*)>& env,
                                  const std::string& region, const std::string& bucket);

// "http://host/bucket" (path style) or "https://bucket.host/"; an object's URL adds "/" (path
// style) and its encoded key.
std::string bucket_url(const Endpoint& endpoint, const std::string& bucket);

// S3's URI encoding of an object key: unreserved characters stay, '/' stays, every other byte is
// %XX (uppercase). The same text goes on the wire and into the SigV4 canonical request.
std::string encode_key(std::string_view key);
// The same for a query-string value ('/' encoded too).
std::string encode_query_value(std::string_view value);

// Keys are relative '/'-separated paths without empty, '.' or '..' segments, at most 1024 bytes
// (S3's limit), in every store alike: a bundle that works in one store works in all.
Status check_key(std::string_view key, const std::string& store_url);

// Local stores write through temporary names holding this marker, and never list them.
inline constexpr std::string_view kTempMarker = ".mbcc-tmp-";

// ---------------------------------------------------------------------------------------------
// Credentials.

using GetEnv = std::function<std::optional<std::string>(const char*)>;  // empty values: unset
GetEnv process_env();

struct Credentials {
  std::string access_key;
  std::string secret_key;     // never printed
  std::string session_token;  // never printed; may be empty
  std::string region;
  std::string source;  // where the keys came from: "environment", "<file> [profile]"
};

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; else the profile
// (AWS_PROFILE, "default") from AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
// AWS_CONFIG_FILE (~/.aws/config). Region: AWS_REGION, AWS_DEFAULT_REGION, the profile,
// us-east-1.
Result<Credentials> resolve_credentials(const GetEnv& env);

// One INI file as the AWS tools read it: sections of key = value; '#' and ';' comments.
using IniSections = std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>;
Result<IniSections> parse_ini(std::string_view text, const std::string& file);

// Replaces every occurrence of each non-empty secret by "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

// ---------------------------------------------------------------------------------------------
// S3 XML bodies (untrusted).

inline constexpr std::size_t kMaxXmlBytes = 8u << 20;

struct ListPage {
  std::vector<ObjectInfo> objects;  // keys as S3 returned them (full keys, with the prefix)
  bool truncated = false;
  std::string next_token;
};
Result<ListPage> parse_list_page(std::string_view xml, const std::string& source);

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown", … (empty if the body was not an S3 error)
  std::string message;
};
// Never fails: a body that is not an S3 error gives empty fields.
S3ErrorBody parse_error_body(std::string_view xml);

Result<std::string> parse_upload_id(std::string_view xml, const std::string& source);

// ---------------------------------------------------------------------------------------------
// Opening.

std::unique_ptr<Store> make_local_store(std::filesystem::path root, const StoreOptions& options);
Result<std::unique_ptr<Store>> make_s3_store(const S3Location& location, const Endpoint& endpoint,
                                             Credentials credentials, const StoreOptions& options);

}  // namespace mbcc::store::detail
