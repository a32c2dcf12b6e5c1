#include "registry/dump.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "capi/client.hpp"
#include "base/gzip.hpp"

namespace mbcc::registry {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;  // also what the C API worker answers in

constexpr std::string_view kDumpSuffix = ".json.gz";
constexpr std::size_t kProbeMessageLimit = 300;

// The refusal's first line without MXNet's "[hh:mm:ss] " log prefix, so dumps do not depend
// on the time they were made.
std::string first_line(std::string_view message) {
  message = message.substr(0, message.find('\n'));
  if (message.starts_with('[') && message.find("] ") != std::string_view::npos) {
    message = message.substr(message.find("] ") + 2);
  }
  return std::string(message.substr(0, kProbeMessageLimit));
}

Op op_from_info(const OrderedJson& entry) {
  Op op;
  op.name = entry.at("real_name").get<std::string>();
  op.key_var_num_args = entry.at("key_var_num_args").get<std::string>();
  for (const OrderedJson& pair : entry.at("args")) {
    TypeString parsed = parse_type_string(pair.at(1).get<std::string>());
    parsed.arg.name = pair.at(0).get<std::string>();
    if (parsed.is_input) {
      op.inputs.push_back(parsed.arg.name);
    } else {
      op.args.push_back(std::move(parsed.arg));
    }
  }
  return op;
}

bool same_fields(std::vector<Arg> a, std::vector<Arg> b) {
  auto by_name = [](const Arg& x, const Arg& y) { return x.name < y.name; };
  std::sort(a.begin(), a.end(), by_name);
  std::sort(b.begin(), b.end(), by_name);
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Arg& x, const Arg& y) {
    return x.name == y.name && x.type_string == y.type_string;
  });
}

Error worker_error(const DumpSource& source, std::string detail) {
  return Error::plain(source.libmxnet.string(), std::move(detail));
}

Result<capi::WorkerClient> start_worker(const DumpSource& source) {
  auto client =
      capi::WorkerClient::start({source.worker, source.libmxnet, source.library_path, "/dev/null"});
  if (!client) return client.error();
  if (client->hello().contains("error")) {
    return worker_error(source, "the C API worker could not load it: " +
                                    client->hello()["error"].value("message", std::string()));
  }
  return client;
}

void apply_probe(const OrderedJson& answer, Op& op) {
  if (answer.at("accepted").get<bool>()) {
    op.parser = Parser::kNone;
    return;
  }
  const std::string message = answer.at("message").get<std::string>();
  if (auto fields = parse_possible_arguments(message)) {
    op.parser = Parser::kStrict;
    if (!same_fields(*fields, op.args)) op.parser_fields = std::move(*fields);
    return;
  }
  op.parser = Parser::kUnknown;
  op.probe_message = first_line(message);
}

OrderedJson arg_to_json(const Arg& arg) {
  OrderedJson json = {{"name", arg.name}, {"type_string", arg.type_string}, {"type", arg.type}};
  if (arg.required) json["required"] = true;
  if (arg.default_value) json["default"] = *arg.default_value;
  if (!arg.enum_values.empty()) json["enum"] = arg.enum_values;
  return json;
}

Arg arg_from_json(const Json& json) {
  Arg arg;
  arg.name = json.at("name").get<std::string>();
  arg.type_string = json.at("type_string").get<std::string>();
  arg.type = json.at("type").get<std::string>();
  arg.required = json.value("required", false);
  if (json.contains("default")) arg.default_value = json.at("default").get<std::string>();
  if (json.contains("enum")) arg.enum_values = json.at("enum").get<std::vector<std::string>>();
  if (arg.required == arg.default_value.has_value()) {
    throw std::invalid_argument("argument " + arg.name + ": exactly one of required and default");
  }
  return arg;
}

std::vector<Arg> args_from_json(const Json& json) {
  std::vector<Arg> args;
  for (const Json& arg : json) args.push_back(arg_from_json(arg));
  return args;
}

// SHA256SUMS: "<sha256 hex>  <file name>" lines, as sha256sum writes them.
Result<std::map<std::string, std::string>> read_checksums(const fs::path& dir) {
  const fs::path path = dir / kChecksumFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::map<std::string, std::string>{};
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  std::istringstream lines(
      std::string(reinterpret_cast<const char*>(bytes->bytes().data()),  // NOLINT
                  bytes->size));
  std::map<std::string, std::string> sums;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.empty()) continue;
    const std::size_t space = line.find("  ");
    const std::string hex = line.substr(0, space);
    if (space == std::string::npos || !is_sha256_hex(hex) || space + 2 >= line.size()) {
      Error e = Error::plain(path.string(), "not a line of sha256sum's format");
      e.location = "line " + std::to_string(number);
      e.found = line.substr(0, 100);
      e.allowed = "<64 hex digits>  <file name>";
      return e;
    }
    sums[line.substr(space + 2)] = hex;
  }
  return sums;
}

}  // namespace

Result<Registry> dump_registry(const DumpSource& source) {
  auto started = start_worker(source);
  if (!started) return started.error();
  std::optional<capi::WorkerClient> client;
  client.emplace(std::move(started).value());
  auto listing = client->call({{"id", "ops"}, {"registry", "ops"}});
  if (!listing) return listing.error();
  if ((*listing)["status"] != "ok") {
    return worker_error(source, "listing the registry failed: " + listing->dump());
  }
  Registry registry;
  registry.release = source.release;
  registry.mxnet_version = listing->at("version").get<int>();
  for (const OrderedJson& entry : listing->at("ops")) {
    const std::string name = entry.at("name").get<std::string>();
    Op op = op_from_info(entry);
    const std::string real_name = op.name;
    registry.ops.try_emplace(real_name, std::move(op));
    if (name != real_name) {
      registry.alias_of[name] = real_name;
      registry.ops[real_name].aliases.push_back(name);
    }
  }
  if (source.progress) {
    source.progress(source.release + ": " + std::to_string(registry.ops.size()) + " ops, " +
                    std::to_string(registry.alias_of.size()) + " aliases; probing parsers");
  }
  for (auto& [name, op] : registry.ops) {
    std::sort(op.aliases.begin(), op.aliases.end());
    auto answer = client->call(
        {{"id", name}, {"registry", "probe"}, {"op", name}, {"key", kProbeKey}, {"value", "1"}});
    if (!answer) {  // the probe killed the worker: note it, and go on with a new one
      op.parser = Parser::kUnknown;
      op.probe_message = "the probe crashed the worker: " + answer.error().message();
      client.reset();
      auto restarted = start_worker(source);
      if (!restarted) return restarted.error();
      client.emplace(std::move(restarted).value());
      continue;
    }
    if ((*answer)["status"] != "ok") {
      return worker_error(source, "probing " + name + " failed: " + answer->dump());
    }
    apply_probe(*answer, op);
  }
  client.reset();
  return registry;
}

nlohmann::ordered_json registry_to_json(const Registry& registry) {
  OrderedJson ops = OrderedJson::array();
  for (const auto& [name, op] : registry.ops) {
    OrderedJson json = {{"name", op.name}};
    if (!op.aliases.empty()) json["aliases"] = op.aliases;
    if (!op.key_var_num_args.empty()) json["key_var_num_args"] = op.key_var_num_args;
    json["inputs"] = op.inputs;
    json["parser"] = parser_name(op.parser);
    if (!op.probe_message.empty()) json["probe_message"] = op.probe_message;
    OrderedJson args = OrderedJson::array();
    for (const Arg& arg : op.args) args.push_back(arg_to_json(arg));
    json["args"] = std::move(args);
    if (op.parser_fields) {
      OrderedJson fields = OrderedJson::array();
      for (const Arg& arg : *op.parser_fields) fields.push_back(arg_to_json(arg));
      json["parser_fields"] = std::move(fields);
    }
    ops.push_back(std::move(json));
  }
  return {{"format", kDumpFormat},
          {"release", registry.release},
          {"mxnet_version", registry.mxnet_version},
          {"made_by", "mbcc ops dump, through the release's C API"},
          {"ops", std::move(ops)}};
}

Result<Registry> registry_from_json(const nlohmann::json& json, const std::string& source) {
  std::string at = "$";
  try {
    if (!json.is_object() || json.value("format", "") != kDumpFormat) {
      Error e = Error::plain(source, "not a registry dump");
      e.location = "$.format";
      e.allowed = std::string(kDumpFormat);
      return e;
    }
    Registry registry;
    registry.release = json.at("release").get<std::string>();
    registry.mxnet_version = json.at("mxnet_version").get<int>();
    const Json& ops = json.at("ops");
    for (std::size_t i = 0; i < ops.size(); ++i) {
      at = "$.ops[" + std::to_string(i) + "]";
      const Json& entry = ops.at(i);
      Op op;
      op.name = entry.at("name").get<std::string>();
      op.aliases = entry.value("aliases", std::vector<std::string>{});
      op.key_var_num_args = entry.value("key_var_num_args", "");
      op.inputs = entry.at("inputs").get<std::vector<std::string>>();
      const auto parser = parser_from_name(entry.at("parser").get<std::string>());
      if (!parser) throw std::invalid_argument("parser is strict, none or unknown");
      op.parser = *parser;
      op.probe_message = entry.value("probe_message", "");
      op.args = args_from_json(entry.at("args"));
      if (entry.contains("parser_fields"))
        op.parser_fields = args_from_json(entry["parser_fields"]);
      for (const std::string& alias : op.aliases) registry.alias_of[alias] = op.name;
      const std::string name = op.name;
      if (!registry.ops.try_emplace(name, std::move(op)).second) {
        throw std::invalid_argument("op " + name + " listed twice");
      }
    }
    return registry;
  } catch (const std::exception& e) {  // nlohmann's type and key errors, and ours above
    Error error =
        Error::plain(source, std::string("not a registry dump of this schema: ") + e.what());
    error.location = at;
    return error;
  }
}

fs::path dump_path(const fs::path& dir, std::string_view release) {
  return dir / (std::string(release) + std::string(kDumpSuffix));
}

Status write_dump(const fs::path& dir, const Registry& registry) {
  auto sums = read_checksums(dir);
  if (!sums) return sums.error();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::plain(dir.string(), "cannot create the folder: " + ec.message());
  const std::vector<std::byte> bytes = gzip(registry_to_json(registry).dump(0) + "\n");
  const fs::path path = dump_path(dir, registry.release);
  MBCC_TRY(write_file_atomic(path, bytes));
  (*sums)[path.filename().string()] = sha256_hex(bytes);
  std::string text;
  for (const auto& [file, hex] : *sums) text += hex + "  " + file + "\n";
  return write_file_atomic(dir / kChecksumFile, {reinterpret_cast<const std::byte*>(text.data()),
                                                 text.size()});  // NOLINT
}

Result<Registry> read_dump(const fs::path& dir, std::string_view release) {
  auto sums = read_checksums(dir);
  if (!sums) return sums.error();
  const fs::path path = dump_path(dir, release);
  const auto expected = sums->find(path.filename().string());
  if (expected == sums->end()) {
    return Error::plain(path.string(), "no registry dump of " + std::string(release) + ": " +
                                           (dir / kChecksumFile).string() + " does not list it");
  }
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  if (const std::string found = sha256_hex(bytes->bytes()); found != expected->second) {
    Error e = Error::plain(path.string(), "the dump was altered or truncated");
    e.field = "sha256";
    e.found = found;
    e.allowed = expected->second + " (" + std::string(kChecksumFile) + ")";
    return e;
  }
  auto text = gunzip(bytes->bytes(), path.string());
  if (!text) return text.error();
  Json json = Json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Error::plain(path.string(), "the dump is not JSON");
  auto registry = registry_from_json(json, path.string());
  if (!registry) return registry.error();
  if (registry->release != release) {
    Error e = Error::plain(path.string(), "the dump is of another release");
    e.field = "release";
    e.found = registry->release;
    e.allowed = std::string(release);
    return e;
  }
  return registry;
}

Result<std::vector<std::string>> dumped_releases(const fs::path& dir) {
  auto sums = read_checksums(dir);
  if (!sums) return sums.error();
  std::vector<std::string> releases;
  for (const auto& [file, hex] : *sums) {
    if (file.ends_with(kDumpSuffix))
      releases.push_back(file.substr(0, file.size() - kDumpSuffix.size()));
  }
  return releases;
}

}  // namespace mbcc::registry
