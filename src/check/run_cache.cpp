#include "check/run_cache.hpp"

#include <csignal>
#include <cstddef>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/cache_dir.hpp"
#include "base/file.hpp"
#include "base/sha256.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// The first line of an entry: this, the sha256 of the rest, a newline.
constexpr std::string_view kMagic = "mbcc-run-cache 2 ";
constexpr std::size_t kFirstLine = kMagic.size() + kSha256HexLength + 1;
// What the bundle's folder and the outputs' folder are written as in a kept answer's messages
// and file names, so that a hit names this run's folders.
constexpr std::string_view kBundlePlaceholder = "<bundle>";
constexpr std::string_view kOutPlaceholder = "<outputs>";

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Rewrites every message of `answer` (the candidate's text may name its files).
template <typename Rewrite>
void rewrite_messages(runners::Answer& answer, Rewrite rewrite) {
  for (std::optional<runners::Failure>* failure : {&answer.error, &answer.internals_error}) {
    if (*failure) {
      rewrite((*failure)->message);
      rewrite((*failure)->call);
    }
  }
  for (std::string& warning : answer.warnings) rewrite(warning);
}

template <typename Rewrite>
void rewrite_messages(runners::Crash& crash, Rewrite rewrite) {
  rewrite(crash.detail);
  rewrite(crash.stderr_tail);
}

// The folders of `request` in every message of `outcome` as placeholders (`to_placeholders`),
// or back.
template <typename Outcome>
void rewrite_folders(Outcome& outcome, const runners::Request& request, bool to_placeholders) {
  const std::string bundle_dir = request.bundle_dir.string();
  const std::string out_dir = request.out_dir.string();
  rewrite_messages(outcome, [&](std::string& text) {
    if (to_placeholders) {
      replace_all(text, out_dir, kOutPlaceholder);
      replace_all(text, bundle_dir, kBundlePlaceholder);
    } else {
      replace_all(text, kOutPlaceholder, out_dir);
      replace_all(text, kBundlePlaceholder, bundle_dir);
    }
  });
}

// A used entry is kept longest by trimming.
void touch(const fs::path& entry) {
  std::error_code ec;
  fs::last_write_time(entry, fs::file_time_type::clock::now(), ec);
}

nlohmann::json crash_to_json(const runners::Crash& crash) {
  return {{"signal", crash.signal},
          {"exit_code", crash.exit_code},
          {"detail", crash.detail},
          {"stderr_tail", crash.stderr_tail}};
}

std::optional<runners::Crash> crash_from_json(const nlohmann::json& value) {
  if (!value.is_object() || !value.contains("signal") || !value["signal"].is_number_integer() ||
      !value.contains("exit_code") || !value["exit_code"].is_number_integer() ||
      !value.contains("detail") || !value["detail"].is_string() || !value.contains("stderr_tail") ||
      !value["stderr_tail"].is_string()) {
    return std::nullopt;
  }
  return runners::Crash{value["signal"].get<int>(), value["exit_code"].get<int>(),
                        value["detail"].get<std::string>(),
                        value["stderr_tail"].get<std::string>()};
}

// A tensor file's name under the outputs' folder, when it is under it.
std::optional<fs::path> under(const fs::path& file, const fs::path& out_dir) {
  const fs::path relative = file.lexically_normal().lexically_relative(out_dir.lexically_normal());
  if (relative.empty() || relative.is_absolute() || *relative.begin() == "..") return std::nullopt;
  return relative;
}

// Writes the entry of `key` into `dir`, whole or not at all.
Status write_entry(const fs::path& dir, const std::string& key, const nlohmann::json& header,
                   std::span<const FileBytes> files) {
  std::string body = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::size_t total = body.size();
  for (const FileBytes& file : files) total += file.size;
  body.reserve(total);
  for (const FileBytes& file : files) {
    body.append(reinterpret_cast<const char*>(file.bytes().data()), file.size);
  }
  std::string entry = std::string(kMagic) + sha256_hex(bytes_of(body)) + "\n";
  entry += body;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::plain(dir.string(), "cannot create the run cache: " + ec.message());
  return write_file_atomic(dir / sha256_hex(bytes_of(key)), bytes_of(entry));
}

}  // namespace

std::string run_cache_key(std::string_view worker_fingerprint, std::string_view manifest_sha256,
                          std::string_view load_api, bool internals) {
  // The format is in the key too: entries of another format are other files, not damaged ones.
  return fmt::format("{}\nworker {}\nmanifest {}\nload_api {}\ninternals {}\n",
                     kMagic.substr(0, kMagic.size() - 1), worker_fingerprint, manifest_sha256,
                     load_api, internals ? "yes" : "no");
}

bool keepable(const runners::Outcome& outcome) {
  if (const auto* answer = std::get_if<runners::Answer>(&outcome)) {
    return answer->status != runners::AnswerStatus::kError;
  }
  if (const auto* crash = std::get_if<runners::Crash>(&outcome)) {
    for (int own_fault : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
      if (crash->signal == own_fault) return true;
    }
  }
  return false;
}

RunCache::RunCache(fs::path dir, std::uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {}

Status RunCache::keep(const std::string& key, const runners::Outcome& outcome,
                      const runners::Request& request) const {
  nlohmann::json header = {{"key", key}};
  if (const auto* crash = std::get_if<runners::Crash>(&outcome)) {
    runners::Crash kept = *crash;
    rewrite_folders(kept, request, true);
    header["crash"] = crash_to_json(kept);
    header["sizes"] = nlohmann::json::array();
    return write_entry(dir_, key, header, {});
  }
  const auto* answer = std::get_if<runners::Answer>(&outcome);
  if (answer == nullptr) return Error::plain(key, "neither an answer nor a crash to keep");
  runners::Answer kept = *answer;
  rewrite_folders(kept, request, true);
  std::vector<FileBytes> files;
  nlohmann::json sizes = nlohmann::json::array();
  for (std::vector<runners::WrittenTensor>* tensors : {&kept.outputs, &kept.internals}) {
    for (runners::WrittenTensor& tensor : *tensors) {
      std::optional<fs::path> name = under(tensor.file, request.out_dir);
      if (!name) {
        return Error::plain(tensor.file.string(),
                            "a worker's output outside its folder " + request.out_dir.string());
      }
      Result<FileBytes> bytes =
          tensor.held ? Result<FileBytes>(*tensor.held) : read_file(tensor.file);
      if (!bytes.ok()) return bytes.error();
      sizes.push_back(bytes->size);
      files.push_back(std::move(bytes).value());
      tensor.file = *name;
    }
  }
  header["answer"] = runners::answer_line(kept, 0);
  header["sizes"] = std::move(sizes);
  return write_entry(dir_, key, header, files);
}

std::optional<runners::Outcome> RunCache::find(const std::string& key,
                                               const runners::Request& request,
                                               std::string& warning) const {
  const fs::path path = dir_ / sha256_hex(bytes_of(key));
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  auto damaged = [&](std::string_view why) {
    warning =
        fmt::format("{}: a damaged entry of the run cache, run again: {}", path.string(), why);
    return std::nullopt;
  };
  Result<FileBytes> read = read_file(path);
  if (!read.ok()) return damaged(read.error().message());
  const std::string_view text(reinterpret_cast<const char*>(read->bytes().data()), read->size);
  if (text.size() < kFirstLine || !text.starts_with(kMagic) || text[kFirstLine - 1] != '\n') {
    return damaged("no header line");
  }
  const std::string_view body = text.substr(kFirstLine);
  if (sha256_hex(bytes_of(body)) != text.substr(kMagic.size(), kSha256HexLength)) {
    return damaged("its bytes do not match their sha256");
  }
  const std::size_t newline = body.find('\n');
  const nlohmann::json header = nlohmann::json::parse(body.substr(0, newline), nullptr, false);
  if (newline == std::string_view::npos || !header.is_object() || !header.contains("key") ||
      !header.contains("sizes") || !header["sizes"].is_array() ||
      !(header.contains("crash") || (header.contains("answer") && header["answer"].is_string()))) {
    return damaged("its header is not {key, answer or crash, sizes}");
  }
  if (header["key"] != key) return damaged("it holds another key");
  if (header.contains("crash")) {
    std::optional<runners::Crash> crash = crash_from_json(header["crash"]);
    if (!crash) return damaged("its crash is not {signal, exit_code, detail, stderr_tail}");
    if (newline + 1 != body.size()) return damaged("bytes after its crash");
    rewrite_folders(*crash, request, false);
    touch(path);
    return *crash;
  }
  Result<runners::Answer> answer = runners::parse_answer(header["answer"].get<std::string>(), 0);
  if (!answer.ok()) return damaged(answer.error().message());
  const nlohmann::json& sizes = header["sizes"];
  if (sizes.size() != answer->outputs.size() + answer->internals.size()) {
    return damaged("it holds another number of files than its answer names");
  }
  std::string_view files = body.substr(newline + 1);
  std::size_t next = 0;
  for (std::vector<runners::WrittenTensor>* tensors : {&answer->outputs, &answer->internals}) {
    for (runners::WrittenTensor& tensor : *tensors) {
      const nlohmann::json& size = sizes[next++];
      if (!size.is_number_unsigned() || size.get<std::uint64_t>() > files.size()) {
        return damaged("a file is longer than the entry");
      }
      const fs::path name = tensor.file;
      if (name.is_absolute() || name.empty() || *name.begin() == "..") {
        return damaged("a file outside the outputs' folder: " + name.string());
      }
      tensor.file = request.out_dir / name;
      const std::size_t length = size.get<std::size_t>();
      // a view into the entry's bytes, which it keeps alive
      const auto* start = reinterpret_cast<const std::byte*>(files.data());
      tensor.held = FileBytes{std::shared_ptr<const std::byte[]>(read->owner, start), length};
      files.remove_prefix(length);
    }
  }
  if (!files.empty()) return damaged("bytes after its files");
  rewrite_folders(*answer, request, false);
  touch(path);
  return std::move(answer).value();
}

Status RunCache::trim() const {
  auto lock = CacheLock::take(dir_);
  if (!lock) return lock.error();
  return trim_cache_entries(dir_, max_bytes_);
}

}  // namespace mbcc
