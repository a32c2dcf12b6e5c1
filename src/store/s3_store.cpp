// The S3 store: libcurl signs every request (CURLOPT_AWS_SIGV4) and a curl multi handle runs up
// to `connections` transfers at once. Each request is retried with exponential backoff on what
// can pass (5xx, 429, timeouts, resets, truncated bodies); anything else fails at once.
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>

#include "store/internal.hpp"

namespace mbcc::store::detail {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kMinPartSize = 5ull << 20;  // S3's minimum for every part but the last
constexpr std::uint64_t kMaxParts = 10000;
constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::size_t kMaxListPages = 100000;

// One HTTP request and what came back, across its attempts.
struct Job {
  // The request.
  std::string key;     // the full object key, for errors
  std::string action;  // "GET", "UploadPart 3", "list", …
  std::string method;  // GET, PUT, POST, DELETE, HEAD
  std::string url;
  std::string body;  // a memory body, or a file range:
  fs::path body_file;
  std::uint64_t body_offset = 0, body_size = 0;
  // The response: a 2xx body goes to `out_file` (resumed), or to `response` up to `max_body`.
  fs::path out_file;
  std::uint64_t max_body = kMaxErrorBody;
  std::uint64_t expected_size = 0;

  // Results.
  long status = 0;
  std::string response;
  std::string etag;
  std::uint64_t object_size = 0;  // from Content-Length or Content-Range, 0 when unknown
  std::uint64_t received = 0;     // body bytes of this attempt
  int attempts = 0;
  bool done = false;
  std::optional<Error> error;

  // Per attempt.
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::FILE* out = nullptr;
  std::FILE* in = nullptr;
  std::uint64_t in_left = 0;
  std::size_t body_pos = 0;
  std::uint64_t resume_from = 0;
  std::int64_t content_length = -1;
  std::uint64_t range_total = 0;
  std::uint64_t range_start = 0;
  bool too_large = false;
  bool wrong_range = false;  // a 206 that does not start where the partial file ends
  std::string last_cause;
  Clock::time_point not_before{};
  char errbuf[CURL_ERROR_SIZE] = {};

  bool success() const { return status >= 200 && status < 300; }
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* job = static_cast<Job*>(user);
  std::string_view line(data, size * count);
  auto value_of = [&](std::string_view name) -> std::optional<std::string_view> {
    if (line.size() <= name.size() + 1 || line[name.size()] != ':') return std::nullopt;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return std::nullopt;
    }
    std::string_view v = line.substr(name.size() + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    return v;
  };
  if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue, say): start over
    std::size_t space = line.find(' ');
    job->status = space == std::string_view::npos ? 0 : std::strtol(line.data() + space + 1, nullptr, 10);
    job->content_length = -1;
    job->range_total = 0;
    job->range_start = 0;
  } else if (auto v = value_of("content-length")) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec == std::errc() && end == v->data() + v->size()) job->content_length = static_cast<std::int64_t>(n);
  } else if (auto r = value_of("content-range")) {
    std::size_t slash = r->rfind('/');
    if (r->starts_with("bytes ")) std::from_chars(r->data() + 6, r->data() + r->size(), job->range_start);
    if (slash != std::string_view::npos) {
      std::string_view total = r->substr(slash + 1);
      std::from_chars(total.data(), total.data() + total.size(), job->range_total);
    }
  } else if (auto e = value_of("etag")) {
    job->etag = std::string(e->substr(0, 256));
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* job = static_cast<Job*>(user);
  std::size_t n = size * count;
  if (job->out_file.empty() || !job->success()) {
    std::uint64_t cap = job->success() ? job->max_body : kMaxErrorBody;
    if (job->response.size() + n > cap) {
      job->too_large = job->success();
      if (!job->too_large) return n;  // keep the head of an error body, drop the rest
      return 0;                       // aborts the transfer: the object is over its limit
    }
    job->response.append(data, n);
    job->received += n;
    return n;
  }
  if (job->status == 206 && job->range_start != job->resume_from) {
    job->wrong_range = true;
    return 0;
  }
  if (job->status == 200 && job->resume_from > 0) {
    // The server sent the whole object instead of the range: start the file over.
    if (std::fflush(job->out) != 0 || ::ftruncate(::fileno(job->out), 0) != 0) return 0;
    job->resume_from = 0;
  }
  if (job->expected_size != 0 && job->resume_from + job->received + n > job->expected_size) {
    job->too_large = true;
    return 0;
  }
  if (std::fwrite(data, 1, n, job->out) != n) return 0;
  job->received += n;
  return n;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* job = static_cast<Job*>(user);
  std::size_t n = size * count;
  if (job->in != nullptr) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, job->in_left));
    std::size_t got = std::fread(buffer, 1, n, job->in);
    if (got != n) return CURL_READFUNC_ABORT;
    job->in_left -= got;
    return got;
  }
  n = std::min(n, job->body.size() - job->body_pos);
  std::memcpy(buffer, job->body.data() + job->body_pos, n);
  job->body_pos += n;
  return n;
}

bool retryable_curl(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_COULDNT_RESOLVE_HOST:
      return true;
    default:
      return false;
  }
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

void curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class S3Store final : public Store {
 public:
  S3Store(S3Location location, Endpoint endpoint, Credentials credentials, StoreOptions options)
      : location_(std::move(location)),
        endpoint_(std::move(endpoint)),
        credentials_(std::move(credentials)),
        options_(std::move(options)) {
    curl_global();
    multi_ = curl_multi_init();
    options_.connections = std::clamp(options_.connections, 1, 64);
    options_.max_attempts = std::clamp(options_.max_attempts, 1, 20);
    options_.list_page_size = std::clamp(options_.list_page_size, 1, 1000);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.connections));
    sigv4_ = "aws:amz:" + credentials_.region + ":s3";
  }
  ~S3Store() override { curl_multi_cleanup(multi_); }

  std::string url() const override { return "s3://" + location_.bucket + "/" + location_.prefix; }

  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override {
    std::lock_guard lock(mutex_);
    std::string full_prefix = location_.prefix + std::string(prefix);
    std::vector<ObjectInfo> out;
    std::string token;
    for (std::size_t page_number = 0;; ++page_number) {
      if (page_number == kMaxListPages) {
        return Error::plain(object_url(full_prefix), "list: more than " + std::to_string(kMaxListPages) + " pages");
      }
      // The query is in SigV4's canonical order (sorted by name) and encoding already.
      std::string query;
      if (!token.empty()) query += "continuation-token=" + encode_query_value(token) + "&";
      query += "list-type=2&max-keys=" + std::to_string(options_.list_page_size) +
               "&prefix=" + encode_query_value(full_prefix);
      Job job = make_job(full_prefix, "list", "GET");
      job.url = bucket_url() + "?" + query;
      job.max_body = kMaxXmlBytes;
      MBCC_TRY(run_one(job));
      auto page = parse_list_page(job.response, object_url(full_prefix) + " (list page " + std::to_string(page_number + 1) + ")");
      if (!page) return page.error();
      for (ObjectInfo& object : page->objects) {
        if (!object.key.starts_with(full_prefix)) {
          Error e = Error::plain(object_url(full_prefix), "list: the server returned a key outside the prefix");
          e.found = object.key.substr(0, 200);
          return e;
        }
        object.key.erase(0, location_.prefix.size());
        if (object.key.empty() || object.key.back() == '/') continue;  // folder markers
        // Callers join keys onto local folders: a key like "../x" must never reach them.
        MBCC_TRY(check_key(object.key, url()));
        out.push_back(std::move(object));
      }
      if (!page->truncated) break;
      if (page->next_token == token) {
        return Error::plain(object_url(full_prefix), "list: the server repeated its continuation token");
      }
      token = page->next_token;
    }
    std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    return out;
  }

  Result<std::string> read(std::string_view key, std::uint64_t max_bytes) override {
    std::lock_guard lock(mutex_);
    MBCC_TRY(check_key(key, url()));
    Job job = make_job(full_key(key), "GET", "GET");
    job.max_body = max_bytes;
    MBCC_TRY(run_one(job));
    return std::move(job.response);
  }

  Result<TransferStats> get(std::span<const GetRequest> requests) override {
    std::lock_guard lock(mutex_);
    std::vector<Job> jobs;
    jobs.reserve(requests.size());
    for (const GetRequest& r : requests) {
      MBCC_TRY(check_key(r.key, url()));
      Job job = make_job(full_key(r.key), "GET", "GET");
      std::error_code ec;
      fs::create_directories(r.dest.parent_path(), ec);
      if (ec) return Error::plain(r.dest.parent_path().string(), "cannot create the folder: " + ec.message());
      job.out_file = partial_path(r.dest);
      if (r.expected_size != 0 && fs::file_size(job.out_file, ec) == r.expected_size && !ec) {
        job.done = true;  // an interrupted run got every byte but did not rename it
        job.easy = nullptr;
      }
      job.expected_size = r.expected_size;
      jobs.push_back(std::move(job));
    }
    TransferStats stats;
    progress_total_ = 0;
    for (const GetRequest& r : requests) progress_total_ += r.expected_size;
    MBCC_TRY(run(jobs, stats, true));
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      std::error_code ec;
      fs::rename(jobs[i].out_file, requests[i].dest, ec);
      if (ec) return Error::plain(requests[i].dest.string(), "cannot rename into place: " + ec.message());
    }
    return stats;
  }

  Status put(std::string_view key, const fs::path& src) override {
    std::lock_guard lock(mutex_);
    MBCC_TRY(check_key(key, url()));
    std::error_code ec;
    std::uint64_t size = fs::file_size(src, ec);
    if (ec) return Error::plain(src.string(), "cannot read: " + ec.message());
    if (size <= options_.multipart_threshold) {
      Job job = make_job(full_key(key), "PUT", "PUT");
      job.body_file = src;
      job.body_size = size;
      return run_one(job);
    }
    return put_multipart(full_key(key), src, size);
  }

  Status put_bytes(std::string_view key, std::string_view bytes) override {
    std::lock_guard lock(mutex_);
    MBCC_TRY(check_key(key, url()));
    Job job = make_job(full_key(key), "PUT", "PUT");
    job.body = std::string(bytes);
    return run_one(job);
  }

  Result<bool> exists(std::string_view key) override {
    std::lock_guard lock(mutex_);
    MBCC_TRY(check_key(key, url()));
    Job job = make_job(full_key(key), "HEAD", "HEAD");
    auto status = run_one(job, {404});
    if (!status) return status.error();
    return job.status != 404;
  }

  Status remove(std::string_view key) override {
    std::lock_guard lock(mutex_);
    MBCC_TRY(check_key(key, url()));
    Job job = make_job(full_key(key), "DELETE", "DELETE");
    return run_one(job);
  }

 private:
  std::string full_key(std::string_view key) const { return location_.prefix + std::string(key); }
  std::string object_url(const std::string& full) const { return "s3://" + location_.bucket + "/" + full; }

  std::string bucket_url() const { return detail::bucket_url(endpoint_, location_.bucket); }

  Job make_job(std::string key, std::string action, std::string method) const {
    Job job;
    job.url = bucket_url();
    if (endpoint_.path_style) job.url += "/";
    job.url += encode_key(key);
    job.key = std::move(key);
    job.action = std::move(action);
    job.method = std::move(method);
    return job;
  }

  Error job_error(const Job& job, std::string detail) const {
    Error e;
    e.source = object_url(job.key);
    e.field = job.action;
    e.detail = redact(std::move(detail), {credentials_.secret_key, credentials_.session_token});
    return e;
  }

  Status run_one(Job& job, std::vector<long> also_ok = {}) {
    std::vector<Job> jobs;
    jobs.push_back(std::move(job));
    TransferStats stats;
    also_ok_ = std::move(also_ok);
    Status status = run(jobs, stats, false);
    also_ok_.clear();
    job = std::move(jobs.front());
    return status;
  }

  // Starts one attempt of `job`. Returns false with job.error set when it cannot start.
  bool start(Job& job) {
    job.attempts += 1;
    job.status = 0;
    job.received = 0;
    job.content_length = -1;
    job.range_total = 0;
    job.range_start = 0;
    job.too_large = false;
    job.wrong_range = false;
    job.response.clear();
    job.etag.clear();
    job.body_pos = 0;
    job.errbuf[0] = '\0';
    if (job.easy == nullptr) job.easy = curl_easy_init();
    if (job.easy == nullptr) {
      job.error = job_error(job, "cannot create a curl handle");
      return false;
    }
    CURL* h = job.easy;
    curl_easy_reset(h);
    curl_slist_free_all(job.headers);
    job.headers = nullptr;
    job.headers = curl_slist_append(job.headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!credentials_.session_token.empty()) {
      job.headers = curl_slist_append(job.headers, ("x-amz-security-token: " + credentials_.session_token).c_str());
    }
    if (!job.out_file.empty()) {
      job.out = std::fopen(job.out_file.c_str(), "ab");
      if (job.out == nullptr) {
        job.error = job_error(job, "cannot open " + job.out_file.string() + ": " + std::strerror(errno));
        return false;
      }
      std::error_code ec;
      job.resume_from = fs::file_size(job.out_file, ec);
      if (ec) job.resume_from = 0;
      if (job.expected_size != 0 && job.resume_from > job.expected_size) {
        // Not a prefix of this object: start over.
        if (::ftruncate(::fileno(job.out), 0) != 0) {
          job.error = job_error(job, "cannot truncate " + job.out_file.string());
          return false;
        }
        job.resume_from = 0;
      }
      if (job.resume_from > 0) {
        job.headers = curl_slist_append(job.headers, ("Range: bytes=" + std::to_string(job.resume_from) + "-").c_str());
      }
    }
    if (!job.body_file.empty()) {
      job.in = std::fopen(job.body_file.c_str(), "rb");
      if (job.in == nullptr || std::fseek(job.in, static_cast<long>(job.body_offset), SEEK_SET) != 0) {
        job.error = job_error(job, "cannot read " + job.body_file.string() + ": " + std::strerror(errno));
        return false;
      }
      job.in_left = job.body_size;
    }
    curl_easy_setopt(h, CURLOPT_URL, job.url.c_str());
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, credentials_.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, credentials_.secret_key.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, job.headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &job);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &job);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, job.errbuf);
    auto timeout_ms = static_cast<long>(options_.timeout.count());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, std::max(1L, timeout_ms / 1000));
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    if (job.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (job.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &job);
      auto size = static_cast<curl_off_t>(job.body_file.empty() ? job.body.size() : job.body_size);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, size);
    } else if (job.method == "POST") {
      // curl's default form type would have servers parse the XML body as a form.
      job.headers = curl_slist_append(job.headers, "Content-Type: application/xml");
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, job.headers);
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, job.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(job.body.size()));
    } else if (job.method == "DELETE") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    curl_multi_add_handle(multi_, h);
    return true;
  }

  void close_files(Job& job) {
    if (job.out != nullptr) std::fclose(job.out);
    if (job.in != nullptr) std::fclose(job.in);
    job.out = nullptr;
    job.in = nullptr;
  }

  void release(Job& job) {
    close_files(job);
    if (job.easy != nullptr) {
      curl_multi_remove_handle(multi_, job.easy);
      curl_easy_cleanup(job.easy);
    }
    curl_slist_free_all(job.headers);
    job.easy = nullptr;
    job.headers = nullptr;
  }

  // After an attempt: done, failed for good, or scheduled again. Returns true when it is to
  // be retried.
  bool finish(Job& job, CURLcode code, TransferStats& stats) {
    curl_multi_remove_handle(multi_, job.easy);
    bool out_ok = job.out == nullptr || std::fflush(job.out) == 0;
    close_files(job);
    std::string cause;
    bool retry = false;
    // Bytes written to a destination count even when the attempt fails: they are resumed from.
    if (!job.out_file.empty() && job.success() && !job.done) stats.bytes += job.received;
    if (job.too_large) {
      job.error = job_error(job, job.out_file.empty()
                                     ? "the object is larger than the " + std::to_string(job.max_body) + " bytes allowed"
                                     : "the object is larger than the " + std::to_string(job.expected_size) + " bytes expected");
      return false;
    }
    if (!out_ok) {
      job.error = job_error(job, "cannot write " + job.out_file.string() + ": " + std::strerror(errno));
      return false;
    }
    if (job.wrong_range) {
      // Not the bytes asked for: start the file over rather than splice.
      std::error_code ec;
      fs::resize_file(job.out_file, 0, ec);
      cause = "the server answered a ranged GET from byte " + std::to_string(job.range_start) + ", not " +
              std::to_string(job.resume_from);
      retry = true;
    } else if (code != CURLE_OK) {
      cause = std::string(curl_easy_strerror(code)) + (job.errbuf[0] != '\0' ? std::string(" (") + job.errbuf + ")" : "");
      retry = retryable_curl(code);
    } else if (job.success()) {
      bool truncated = job.method != "HEAD" && job.content_length >= 0 &&
                       job.received != static_cast<std::uint64_t>(job.content_length);
      if (!job.out_file.empty()) {
        job.object_size = job.status == 206 ? job.range_total
                                            : static_cast<std::uint64_t>(std::max<std::int64_t>(job.content_length, 0));
        if (job.expected_size != 0 && job.object_size != 0 && job.object_size != job.expected_size) {
          job.error = job_error(job, "the object is " + std::to_string(job.object_size) + " bytes, expected " +
                                         std::to_string(job.expected_size));
          return false;
        }
        std::error_code ec;
        std::uint64_t have = fs::file_size(job.out_file, ec);
        truncated = truncated || (job.object_size != 0 && have != job.object_size);
      }
      if (truncated) {
        cause = "truncated body: received " + std::to_string(job.received) + " of " +
                std::to_string(job.content_length) + " bytes";
        retry = true;
      } else if (job.method == "POST" && job.response.find("<Error>") != std::string::npos) {
        // CompleteMultipartUpload can fail after its 200 status line.
        S3ErrorBody body = parse_error_body(job.response);
        cause = "HTTP 200 with error " + body.code + ": " + body.message;
        retry = body.code == "InternalError" || body.code == "SlowDown";
      } else {
        job.done = true;
        if (job.out_file.empty()) stats.bytes += job.received;
        stats.objects += 1;
        return false;
      }
    } else if (std::find(also_ok_.begin(), also_ok_.end(), job.status) != also_ok_.end()) {
      job.done = true;
      return false;
    } else if (job.status == 416 && !job.out_file.empty()) {
      // The partial file does not fit this object: start it over.
      std::error_code ec;
      fs::resize_file(job.out_file, 0, ec);
      cause = "HTTP 416 for a resumed range";
      retry = true;
    } else {
      S3ErrorBody body = parse_error_body(job.response);
      cause = "HTTP " + std::to_string(job.status) + (body.code.empty() ? "" : " " + body.code) +
              (body.message.empty() ? "" : ": " + body.message);
      retry = job.status >= 500 || job.status == 429 || job.status == 408 || body.code == "RequestTimeout" ||
              body.code == "SlowDown";
    }
    job.last_cause = cause;
    if (retry && job.attempts < options_.max_attempts) {
      stats.retries += 1;
      auto delay = options_.backoff_base * (1LL << std::min(job.attempts - 1, 6));
      std::uniform_int_distribution<long long> jitter(0, delay.count() / 2);
      job.not_before = Clock::now() + std::min<std::chrono::milliseconds>(delay, std::chrono::seconds(20)) +
                       std::chrono::milliseconds(jitter(rng_));
      return true;
    }
    job.error = job_error(job, retry ? "gave up after " + std::to_string(job.attempts) + " attempts: " + cause : cause);
    return false;
  }

  // Runs every job to its end, `connections` at a time; the first failure stops the rest (their
  // partial files stay, to be resumed).
  Status run(std::vector<Job>& jobs, TransferStats& stats, bool report_progress) {
    std::vector<Job*> pending;
    std::size_t active = 0, finished = 0;
    for (Job& job : jobs) {
      if (job.done) {
        ++finished;
      } else {
        pending.push_back(&job);
      }
    }
    std::optional<Error> failure;
    std::uint64_t base_bytes = 0;  // bytes of finished objects, for progress
    auto last_report = Clock::now();
    auto report = [&](bool force) {
      if (!report_progress || !options_.progress) return;
      auto now = Clock::now();
      if (!force && now - last_report < std::chrono::milliseconds(100)) return;
      last_report = now;
      std::uint64_t done = base_bytes;
      for (Job& job : jobs) {
        if (!job.done) done += job.resume_from + (job.success() ? job.received : 0);
      }
      options_.progress(TransferProgress{done, std::max(progress_total_, done), finished, jobs.size()});
    };
    while (finished < jobs.size() && !failure) {
      auto now = Clock::now();
      auto next_start = Clock::time_point::max();
      for (auto it = pending.begin(); it != pending.end() && active < static_cast<std::size_t>(options_.connections);) {
        if ((*it)->not_before > now) {
          next_start = std::min(next_start, (*it)->not_before);
          ++it;
          continue;
        }
        Job& job = **it;
        it = pending.erase(it);
        if (!start(job)) {
          failure = job.error;
          break;
        }
        ++active;
      }
      if (failure) break;
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Job* job = nullptr;
        for (Job& j : jobs) {
          if (j.easy == msg->easy_handle && !j.done) job = &j;
        }
        if (job == nullptr) continue;
        CURLcode code = msg->data.result;
        --active;
        if (finish(*job, code, stats)) {
          pending.push_back(job);
        } else if (job->done) {
          ++finished;
          base_bytes += job->resume_from + job->received;
          release(*job);
        } else {
          failure = job->error;
          break;
        }
      }
      report(false);
      if (finished == jobs.size() || failure) break;
      int wait_ms = 100;
      if (active == 0 && next_start != Clock::time_point::max()) {
        wait_ms = static_cast<int>(std::clamp<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(next_start - Clock::now()).count(), 0, 100));
      }
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    for (Job& job : jobs) release(job);
    if (failure) return *failure;
    report(true);
    return Ok{};
  }

  Status put_multipart(const std::string& key, const fs::path& src, std::uint64_t size) {
    std::uint64_t part_size = std::max({options_.multipart_threshold, kMinPartSize, (size + kMaxParts - 1) / kMaxParts});
    Job create = make_job(key, "CreateMultipartUpload", "POST");
    create.url += "?uploads=";
    create.max_body = kMaxXmlBytes;
    MBCC_TRY(run_one(create));
    auto upload_id = parse_upload_id(create.response, object_url(key));
    if (!upload_id) return upload_id.error();
    std::string id_query = "uploadId=" + encode_query_value(*upload_id);

    std::vector<Job> parts;
    for (std::uint64_t offset = 0, number = 1; offset < size; offset += part_size, ++number) {
      Job part = make_job(key, "UploadPart " + std::to_string(number), "PUT");
      part.url += "?partNumber=" + std::to_string(number) + "&" + id_query;
      part.body_file = src;
      part.body_offset = offset;
      part.body_size = std::min(part_size, size - offset);
      parts.push_back(std::move(part));
    }
    TransferStats stats;
    Status uploaded = run(parts, stats, false);
    std::string complete_body = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; uploaded.ok() && i < parts.size(); ++i) {
      if (parts[i].etag.empty()) {
        uploaded = job_error(parts[i], "the reply has no ETag");
        break;
      }
      complete_body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
                       xml_escape(parts[i].etag) + "</ETag></Part>";
    }
    complete_body += "</CompleteMultipartUpload>";
    if (uploaded.ok()) {
      Job complete = make_job(key, "CompleteMultipartUpload", "POST");
      complete.url += "?" + id_query;
      complete.body = std::move(complete_body);
      complete.max_body = kMaxXmlBytes;
      uploaded = run_one(complete);
    }
    if (!uploaded.ok()) {
      // Leave no parts behind to be billed for; the first error is the one that matters.
      Job abort = make_job(key, "AbortMultipartUpload", "DELETE");
      abort.url += "?" + id_query;
      Status aborted = run_one(abort);
      Error e = uploaded.error();
      if (!aborted.ok()) e.detail += " (and the upload could not be aborted: " + aborted.error().message() + ")";
      return e;
    }
    return Ok{};
  }

  S3Location location_;
  Endpoint endpoint_;
  Credentials credentials_;
  StoreOptions options_;
  std::string sigv4_;
  CURLM* multi_ = nullptr;
  std::mutex mutex_;
  std::vector<long> also_ok_;
  std::uint64_t progress_total_ = 0;
  std::minstd_rand rng_{std::random_device{}()};
};

}  // namespace

Result<std::unique_ptr<Store>> make_s3_store(const S3Location& location, const Endpoint& endpoint,
                                             Credentials credentials, const StoreOptions& options) {
  return std::unique_ptr<Store>(std::make_unique<S3Store>(location, endpoint, std::move(credentials), options));
}

}  // namespace mbcc::store::detail
