#include "corpus/manifest.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <span>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "corpus/internal.hpp"

namespace mbcc::corpus {
namespace {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t{1} << 48;
constexpr int64_t kMaxFileSize = int64_t{1} << 40;
constexpr int64_t kMaxIndex = int64_t{1} << 31;

constexpr std::array<std::string_view, 3> kInputKinds = {"float", "tokens", "label"};
constexpr std::array<std::string_view, 2> kModelKinds = {"symbol", "gluon"};
constexpr std::array<std::string_view, 3> kSelfCheckStatuses = {"ok", "failed", "unsupported"};
constexpr std::array<std::string_view, 1> kOriginKinds = {"user"};

struct InternalsStatusName {
  InternalsStatus status;
  std::string_view name;
};
constexpr std::array<InternalsStatusName, 3> kInternalsStatuses = {
    {{InternalsStatus::kPresent, "present"},
     {InternalsStatus::kAbsent, "absent"},
     {InternalsStatus::kFailed, "failed"}}};

// A string field whose value must be one of `allowed`.
std::string read_choice(const JsonValue& value, std::span<const std::string_view> allowed) {
  std::string text = value.string();
  if (!text.empty() && std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    value.fail(json(text).dump(), join_names(allowed, std::identity{}));
  }
  return text;
}

std::string read_nonempty(const JsonValue& value) {
  std::string text = value.string();
  if (text.empty()) value.fail("\"\"", "a non-empty string");
  return text;
}

std::string read_bundle_path(const JsonValue& value) {
  std::string path = value.string();
  if (!path.empty() && !detail::is_bundle_path(path)) {
    value.fail(json(path).dump(), "a relative path inside the bundle, '/'-separated");
  }
  return path;
}

Shape read_shape(const JsonValue& value) {
  Shape shape;
  for (const JsonValue& dim : value.elements()) shape.push_back(dim.integer(0, kMaxDim));
  return shape;
}

DType read_dtype(const JsonValue& value) {
  std::string name = value.string();
  std::optional<DType> dtype = dtype_from_name(name);
  if (name.empty() || dtype) return dtype.value_or(DType::kFloat32);
  value.fail(json(name).dump(), join_names(kDTypeTable, &DTypeInfo::name));
  return DType::kFloat32;
}

std::string read_sha256(const JsonValue& value) {
  std::string hex = value.string();
  if (!is_sha256_hex(hex)) value.fail(json(hex).dump(), "64 lowercase hex digits");
  return hex;
}

std::optional<std::string> read_optional_string(const JsonValue& value) {
  if (value.is_null()) return std::nullopt;
  return value.string();
}

std::map<std::string, std::string> read_string_map(const JsonValue& value) {
  std::map<std::string, std::string> out;
  for (const auto& [key, member] : value.members()) out[key] = member.string();
  return out;
}

std::vector<std::string> read_names(const JsonValue& value) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const JsonValue& element : value.elements()) {
    std::string name = element.name();
    if (!seen.insert(name).second) element.fail(json(name).dump(), "each name once");
    names.push_back(std::move(name));
  }
  return names;
}

BundleFile read_file_entry(const JsonValue& value) {
  value.allow_only({"path", "role", "size", "sha256", "shared", "compressed"});
  BundleFile file;
  file.path = read_bundle_path(value["path"]);
  std::string role = value["role"].string();
  if (std::optional<FileRole> r = file_role_from_name(role)) {
    file.role = *r;
  } else if (!role.empty()) {
    value["role"].fail(json(role).dump(), join_names(kFileRoles, &FileRoleInfo::name));
  }
  file.size = static_cast<uint64_t>(value["size"].integer(0, kMaxFileSize));
  file.sha256 = read_sha256(value["sha256"]);
  if (value["shared"].present()) file.shared = value["shared"].boolean();
  if (value["compressed"].present()) file.compressed = value["compressed"].boolean();
  if (file.compressed && !file.shared) {
    value["compressed"].fail("true", "only on a shared file (\"shared\": true)");
  }
  return file;
}

std::vector<InternalEntry> read_internal_entries(const JsonValue& value) {
  std::vector<InternalEntry> entries;
  for (const JsonValue& entry : value.elements()) {
    entry.allow_only({"index", "name", "node", "op", "output", "file", "member", "shape", "dtype"});
    entries.push_back(detail::read_internal_entry(entry));
  }
  return entries;
}

Tolerance read_tolerance(const JsonValue& value) {
  value.allow_only({"rtol", "atol"});
  Tolerance tolerance;
  if (value["rtol"].present()) tolerance.rtol = value["rtol"].number(0, 1);
  if (value["atol"].present()) tolerance.atol = value["atol"].number(0, 1e6);
  return tolerance;
}

Internals read_internals(const JsonValue& value, int schema_version) {
  Internals internals;
  std::string status = value["status"].string();
  auto it = std::find_if(kInternalsStatuses.begin(), kInternalsStatuses.end(),
                         [&](const InternalsStatusName& s) { return s.name == status; });
  if (it == kInternalsStatuses.end()) {
    value["status"].fail(json(status).dump(),
                         join_names(kInternalsStatuses, &InternalsStatusName::name));
    return internals;
  }
  internals.status = it->status;
  if (internals.status != InternalsStatus::kPresent) {
    value.allow_only({"status", "reason"});
    internals.reason = read_nonempty(value["reason"]);
    return internals;
  }
  internals.symbol = read_nonempty(value["symbol"]);
  if (schema_version >= 3) {
    value.allow_only({"status", "symbol", "index"});
    internals.index = read_bundle_path(value["index"]);
    return internals;
  }
  value.allow_only({"status", "symbol", "outputs"});
  internals.outputs = read_internal_entries(value["outputs"]);
  return internals;
}

// Inputs, outputs and internals must name files of their role, and every such file must be
// named by exactly one of them, so nothing in the bundle is unaccounted for.
void check_tensor_files(const JsonValue& root, const Manifest& m) {
  std::map<std::string, FileRole> named;  // file -> role its entry requires
  auto name = [&](const JsonValue& at, const std::string& file, FileRole role) {
    const BundleFile* listed = m.find_file(file);
    if (listed == nullptr) {
      at.fail(json(file).dump(), "a path listed in $.files");
    } else if (listed->role != role) {
      at.fail(json(file).dump() + " (role " + std::string(file_role_name(listed->role)) + ")",
              "a file of role " + std::string(file_role_name(role)));
    } else if (!named.emplace(file, role).second) {
      at.fail(json(file).dump(), "a file named by one entry only");
    }
  };
  auto name_all = [&](const JsonValue& entries, auto file_of, FileRole role) {
    std::vector<JsonValue> at = entries.elements();
    for (std::size_t i = 0; i < at.size(); ++i) name(at[i]["file"], file_of(i), role);
  };
  name_all(
      root["inputs"], [&](std::size_t i) { return m.inputs[i].file; }, FileRole::kInput);
  name_all(
      root["outputs"], [&](std::size_t i) { return m.outputs[i].file; }, FileRole::kOutput);
  if (m.internals.status == InternalsStatus::kPresent && m.internals.index.empty()) {
    // An internal output is its own .npy, or one member of an archive that many share.
    std::set<std::pair<std::string, std::string>> members;
    std::vector<JsonValue> at = root["internals"]["outputs"].elements();
    for (std::size_t i = 0; i < at.size(); ++i) {
      const InternalEntry& e = m.internals.outputs[i];
      if (e.member.empty()) {
        name(at[i]["file"], e.tensor.file, FileRole::kInternal);
        continue;
      }
      const BundleFile* listed = m.find_file(e.tensor.file);
      if (listed == nullptr || listed->role != FileRole::kInternalsArchive) {
        at[i]["file"].fail(json(e.tensor.file).dump(), "a listed file of role internals-archive");
      } else if (!members.emplace(e.tensor.file, e.member).second) {
        at[i]["member"].fail(json(e.member).dump(), "a member named by one entry only");
      }
      named.emplace(e.tensor.file, FileRole::kInternalsArchive);
    }
  }
  if (!m.internals.index.empty()) {
    // The index names the archives' members; validate_bundle checks them against it.
    name(root["internals"]["index"], m.internals.index, FileRole::kInternalsIndex);
    for (const BundleFile& f : m.files) {
      if (f.role == FileRole::kInternalsArchive) named.emplace(f.path, f.role);
    }
  }
  if (m.internals.status == InternalsStatus::kPresent) {
    const BundleFile* graph = m.find_file(m.internals.symbol);
    if (graph == nullptr || graph->role != FileRole::kSymbol) {
      root["internals"]["symbol"].fail(json(m.internals.symbol).dump(),
                                       "a listed file of role symbol");
    }
  }
  std::vector<JsonValue> files = root["files"].elements();
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const BundleFile& f = m.files[i];
    bool tensor_role = f.role == FileRole::kInput || f.role == FileRole::kOutput ||
                       f.role == FileRole::kInternal || f.role == FileRole::kInternalsArchive;
    if (tensor_role && !named.contains(f.path)) {
      files[i]["path"].fail(json(f.path).dump(),
                            "a tensor file named by an input, output or internals entry");
    }
  }
  bool has_model_file = std::any_of(m.files.begin(), m.files.end(), [](const BundleFile& f) {
    return f.role == FileRole::kSymbol || f.role == FileRole::kParams ||
           f.role == FileRole::kModelJson;
  });
  if (!has_model_file) root["files"].fail("no model file", "a symbol, params or model-json file");
  if (m.outputs.empty()) root["outputs"].fail("[]", "at least one golden output");
}

// What schema 2 added means nothing in a version 1 manifest: a reader of version 1 would look
// for the files in the wrong place.
void refuse_newer_fields(const JsonValue& root, const Manifest& m) {
  std::vector<JsonValue> files = root["files"].elements();
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    if (m.files[i].shared) files[i]["shared"].fail("true", "absent in schema_version 1");
    if (m.files[i].role == FileRole::kInternalsArchive) {
      files[i]["role"].fail("\"internals-archive\"", "a role of schema_version 1");
    }
  }
  if (m.internals.status != InternalsStatus::kPresent) return;
  std::vector<JsonValue> outputs = root["internals"]["outputs"].elements();
  for (std::size_t i = 0; i < m.internals.outputs.size(); ++i) {
    if (!m.internals.outputs[i].member.empty()) {
      outputs[i]["member"].fail(json(m.internals.outputs[i].member).dump(),
                                "absent in schema_version 1");
    }
  }
}

// A reader of schema 2 would look for a compressed file's bytes under the wrong name.
void refuse_compressed(const JsonValue& root, const Manifest& m) {
  std::vector<JsonValue> files = root["files"].elements();
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    if (m.files[i].compressed)
      files[i]["compressed"].fail("true", "absent before schema_version 3");
  }
}

}  // namespace

namespace detail {

bool is_bundle_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos ||
      path.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

TensorEntry read_tensor_entry(const JsonValue& value, bool with_kind) {
  TensorEntry entry;
  entry.name = read_nonempty(value["name"]);
  entry.file = read_bundle_path(value["file"]);
  entry.shape = read_shape(value["shape"]);
  entry.dtype = read_dtype(value["dtype"]);
  if (with_kind) entry.kind = read_choice(value["kind"], kInputKinds);
  return entry;
}

json tensor_entry_json(const TensorEntry& entry) {
  json out = {{"name", entry.name},
              {"file", entry.file},
              {"shape", entry.shape},
              {"dtype", dtype_info(entry.dtype).name}};
  if (!entry.kind.empty()) out["kind"] = entry.kind;
  return out;
}

InternalEntry read_internal_entry(const JsonValue& value) {
  InternalEntry entry;
  entry.index = value["index"].integer(0, kMaxIndex);
  entry.node = read_nonempty(value["node"]);
  entry.op = read_nonempty(value["op"]);
  entry.output = value["output"].integer(0, kMaxIndex);
  entry.tensor = read_tensor_entry(value, /*with_kind=*/false);
  entry.name = entry.tensor.name;
  if (value["member"].present()) entry.member = read_nonempty(value["member"]);
  return entry;
}

json internal_entry_json(const InternalEntry& entry) {
  json out = tensor_entry_json(entry.tensor);
  out["index"] = entry.index;
  out["node"] = entry.node;
  out["op"] = entry.op;
  out["output"] = entry.output;
  if (!entry.member.empty()) out["member"] = entry.member;
  return out;
}

void read_producer_facts(const JsonValue& value, Producer& producer) {
  producer.mxnet_version = read_nonempty(value["mxnet_version"]);
  if (!value["mxget_version"].is_null()) {
    producer.mxget_version = value["mxget_version"].integer(0, kMaxIndex);
  }
  if (!value["features"].is_null()) {
    std::map<std::string, bool> features;
    for (const auto& [name, enabled] : value["features"].members()) {
      features[name] = enabled.boolean();
    }
    producer.features = std::move(features);
  }
  producer.python = read_nonempty(value["python"]);
  producer.numpy = read_nonempty(value["numpy"]);
  producer.platform = read_nonempty(value["platform"]);
  producer.machine = read_nonempty(value["machine"]);
  producer.source_patches = value["source_patches"].strings();
  producer.probe_version = read_nonempty(value["probe_version"]);
}

std::vector<SelfCheck> read_self_checks(const JsonValue& value) {
  std::vector<SelfCheck> checks;
  for (const JsonValue& entry : value.elements()) {
    SelfCheck check;
    check.load_api = entry["load_api"].name();
    check.status = read_choice(entry["status"], kSelfCheckStatuses);
    if (entry["max_abs_err"].present()) check.max_abs_err = entry["max_abs_err"].number(0, 1e300);
    if (entry["reason"].present()) check.reason = entry["reason"].string();
    checks.push_back(std::move(check));
  }
  return checks;
}

Origin read_origin(const JsonValue& value) {
  value.allow_only({"kind", "command", "file_kinds", "producer_from", "block"});
  Origin origin;
  origin.kind = read_choice(value["kind"], kOriginKinds);
  if (origin.kind.empty()) value["kind"].fail("\"\"", join_names(kOriginKinds, std::identity{}));
  origin.command = value["command"].strings();
  origin.file_kinds = read_string_map(value["file_kinds"]);
  origin.producer_from = read_nonempty(value["producer_from"]);
  if (value["block"].present() && !value["block"].is_null()) {
    JsonValue block = value["block"];
    block.allow_only({"callable", "kwargs", "path"});
    UserBlock user;
    user.callable = read_nonempty(block["callable"]);
    if (!block["kwargs"].raw().is_object())
      block["kwargs"].fail(block["kwargs"].raw().dump(), "an object");
    user.kwargs = block["kwargs"].raw().dump();
    user.path = read_bundle_path(block["path"]);
    origin.block = std::move(user);
  }
  return origin;
}

json origin_json(const Origin& origin) {
  json out = {{"kind", origin.kind},
              {"command", origin.command},
              {"file_kinds", origin.file_kinds},
              {"producer_from", origin.producer_from}};
  if (origin.block) {
    out["block"] = {{"callable", origin.block->callable},
                    {"kwargs", json::parse(origin.block->kwargs)},
                    {"path", origin.block->path}};
  }
  return out;
}

std::map<std::string, SeedValue> read_seeds(const JsonValue& value) {
  std::map<std::string, SeedValue> seeds;
  for (const auto& [key, seed] : value.members()) {
    if (seed.raw().is_string()) {
      seeds[key] = seed.string();
    } else {
      seeds[key] = seed.integer(0, INT64_MAX);
    }
  }
  return seeds;
}

}  // namespace detail

std::string_view file_role_name(FileRole role) {
  return kFileRoles[static_cast<std::size_t>(role)].name;
}

std::optional<FileRole> file_role_from_name(std::string_view name) {
  for (const FileRoleInfo& info : kFileRoles) {
    if (info.name == name) return info.role;
  }
  return std::nullopt;
}

const BundleFile* Manifest::find_file(std::string_view path) const {
  auto it =
      std::find_if(files.begin(), files.end(), [&](const BundleFile& f) { return f.path == path; });
  return it == files.end() ? nullptr : &*it;
}

bool is_utc_timestamp(std::string_view created) {
  constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:ddZ";
  if (created.size() != kPattern.size()) return false;
  for (std::size_t i = 0; i < kPattern.size(); ++i) {
    bool digit = created[i] >= '0' && created[i] <= '9';
    if (kPattern[i] == 'd' ? !digit : created[i] != kPattern[i]) return false;
  }
  return true;
}

Result<Manifest> parse_manifest(std::string_view text, const std::string& source) {
  JsonReader reader(source);
  JsonValue root(reader, &reader.parse(text), "$");
  if (reader.failed()) return reader.error();
  root.allow_only({"schema_version", "case", "model", "producer", "seeds", "env", "files", "inputs",
                   "outputs", "load_apis", "import_input_names", "tolerance", "internals",
                   "self_check", "origin"});
  Manifest m;
  m.schema_version = static_cast<int>(
      root["schema_version"].integer(kOldestManifestSchemaVersion, kManifestSchemaVersion));

  JsonValue case_ = root["case"];
  case_.allow_only({"model", "save_api"});
  m.model = case_["model"].name();
  m.save_api = case_["save_api"].name();

  JsonValue model = root["model"];
  model.allow_only({"kind", "prefix", "writer", "hybridized", "np_mode"});
  m.model_info.kind = read_choice(model["kind"], kModelKinds);
  m.model_info.prefix = read_optional_string(model["prefix"]);
  m.model_info.writer = read_nonempty(model["writer"]);
  m.model_info.hybridized = model["hybridized"].boolean();
  m.model_info.np_mode = model["np_mode"].boolean();

  JsonValue producer = root["producer"];
  producer.allow_only({"version", "requirement", "mxnet_version", "mxget_version", "features",
                       "python", "numpy", "platform", "machine", "source_patches", "probe_version",
                       "created"});
  m.producer.version = producer["version"].name();
  m.producer.requirement = read_nonempty(producer["requirement"]);
  detail::read_producer_facts(producer, m.producer);
  m.producer.created = producer["created"].string();
  if (!reader.failed() && !is_utc_timestamp(m.producer.created)) {
    producer["created"].fail(json(m.producer.created).dump(), "UTC time as YYYY-MM-DDTHH:MM:SSZ");
  }

  m.seeds = detail::read_seeds(root["seeds"]);
  m.env = read_string_map(root["env"]);

  for (const JsonValue& entry : root["files"].elements()) {
    BundleFile file = read_file_entry(entry);
    // Sorted and unique, so that equal bundles have equal file lists.
    bool in_order = m.files.empty() || m.files.back().path < file.path;
    if (!reader.failed() && (file.path == "manifest.json" || !in_order)) {
      entry["path"].fail(json(file.path).dump(),
                         "paths sorted, each once, and not manifest.json itself");
    }
    m.files.push_back(std::move(file));
  }
  for (const JsonValue& entry : root["inputs"].elements()) {
    entry.allow_only({"name", "file", "shape", "dtype", "kind"});
    m.inputs.push_back(detail::read_tensor_entry(entry, /*with_kind=*/true));
  }
  for (const JsonValue& entry : root["outputs"].elements()) {
    entry.allow_only({"name", "file", "shape", "dtype"});
    m.outputs.push_back(detail::read_tensor_entry(entry, /*with_kind=*/false));
  }
  m.load_apis = read_names(root["load_apis"]);
  if (!reader.failed() && m.load_apis.empty()) {
    root["load_apis"].fail("[]", "at least one load API");
  }
  m.import_input_names = root["import_input_names"].strings();
  if (root["tolerance"].present()) m.tolerance = read_tolerance(root["tolerance"]);
  m.internals = read_internals(root["internals"], m.schema_version);
  for (const JsonValue& entry : root["self_check"].elements()) {
    entry.allow_only({"load_api", "status", "max_abs_err", "reason"});
  }
  m.self_check = detail::read_self_checks(root["self_check"]);
  if (root["origin"].present()) m.origin = detail::read_origin(root["origin"]);
  if (!reader.failed() && m.schema_version < 2) refuse_newer_fields(root, m);
  if (!reader.failed() && m.schema_version < 3) refuse_compressed(root, m);
  if (!reader.failed()) check_tensor_files(root, m);
  if (reader.failed()) return reader.error();
  return m;
}

Result<Manifest> read_manifest(const std::filesystem::path& path) {
  Result<FileBytes> bytes = read_file(path);
  if (!bytes.ok()) return bytes.error();
  std::span<const std::byte> data = bytes->bytes();
  return parse_manifest({reinterpret_cast<const char*>(data.data()), data.size()}, path.string());
}

namespace {

json internal_entries_json(const std::vector<InternalEntry>& entries) {
  json out = json::array();
  for (const InternalEntry& e : entries) out.push_back(detail::internal_entry_json(e));
  return out;
}

}  // namespace

std::string write_internals_index(const std::vector<InternalEntry>& outputs) {
  return json{{"outputs", internal_entries_json(outputs)}}.dump(1) + "\n";
}

Result<std::vector<InternalEntry>> parse_internals_index(std::string_view text,
                                                         const std::string& source) {
  JsonReader reader(source);
  JsonValue root(reader, &reader.parse(text), "$");
  if (reader.failed()) return reader.error();
  root.allow_only({"outputs"});
  std::vector<InternalEntry> outputs = read_internal_entries(root["outputs"]);
  for (const InternalEntry& e : outputs) {
    if (!reader.failed() && e.member.empty()) {
      root["outputs"].fail(json(e.name).dump() + " without a member",
                           "members of an internals archive");
    }
  }
  if (reader.failed()) return reader.error();
  return outputs;
}

std::string write_manifest(const Manifest& m) {
  json files = json::array();
  for (const BundleFile& f : m.files) {
    files.push_back({{"path", f.path},
                     {"role", file_role_name(f.role)},
                     {"size", f.size},
                     {"sha256", f.sha256}});
    if (f.shared) files.back()["shared"] = true;
    if (f.compressed) files.back()["compressed"] = true;
  }
  json inputs = json::array();
  for (const TensorEntry& e : m.inputs) inputs.push_back(detail::tensor_entry_json(e));
  json outputs = json::array();
  for (const TensorEntry& e : m.outputs) outputs.push_back(detail::tensor_entry_json(e));

  json producer = {{"version", m.producer.version},
                   {"requirement", m.producer.requirement},
                   {"mxnet_version", m.producer.mxnet_version},
                   {"mxget_version", nullptr},
                   {"features", nullptr},
                   {"python", m.producer.python},
                   {"numpy", m.producer.numpy},
                   {"platform", m.producer.platform},
                   {"machine", m.producer.machine},
                   {"source_patches", m.producer.source_patches},
                   {"probe_version", m.producer.probe_version},
                   {"created", m.producer.created}};
  if (m.producer.mxget_version) producer["mxget_version"] = *m.producer.mxget_version;
  if (m.producer.features) producer["features"] = *m.producer.features;

  json seeds = json::object();
  for (const auto& seed : m.seeds) {
    std::visit([&](const auto& v) { seeds[seed.first] = v; }, seed.second);
  }

  json internals = {{"status", kInternalsStatuses[static_cast<int>(m.internals.status)].name}};
  if (m.internals.status == InternalsStatus::kPresent) {
    internals["symbol"] = m.internals.symbol;
    if (m.schema_version >= 3) {
      internals["index"] = m.internals.index;
    } else {
      internals["outputs"] = internal_entries_json(m.internals.outputs);
    }
  } else {
    internals["reason"] = m.internals.reason;
  }

  json self_check = json::array();
  for (const SelfCheck& c : m.self_check) {
    json check = {{"load_api", c.load_api}, {"status", c.status}};
    if (c.max_abs_err) check["max_abs_err"] = *c.max_abs_err;
    if (!c.reason.empty()) check["reason"] = c.reason;
    self_check.push_back(std::move(check));
  }

  json out = {{"schema_version", m.schema_version},
              {"case", {{"model", m.model}, {"save_api", m.save_api}}},
              {"model",
               {{"kind", m.model_info.kind},
                {"prefix", nullptr},
                {"writer", m.model_info.writer},
                {"hybridized", m.model_info.hybridized},
                {"np_mode", m.model_info.np_mode}}},
              {"producer", std::move(producer)},
              {"seeds", std::move(seeds)},
              {"env", m.env},
              {"files", std::move(files)},
              {"inputs", std::move(inputs)},
              {"outputs", std::move(outputs)},
              {"load_apis", m.load_apis},
              {"import_input_names", m.import_input_names},
              {"internals", std::move(internals)},
              {"self_check", std::move(self_check)}};
  if (m.model_info.prefix) out["model"]["prefix"] = *m.model_info.prefix;
  if (m.origin) out["origin"] = detail::origin_json(*m.origin);
  if (m.tolerance) {
    json tolerance = json::object();
    if (m.tolerance->rtol) tolerance["rtol"] = *m.tolerance->rtol;
    if (m.tolerance->atol) tolerance["atol"] = *m.tolerance->atol;
    out["tolerance"] = std::move(tolerance);
  }
  return out.dump(1) + "\n";
}

}  // namespace mbcc::corpus
