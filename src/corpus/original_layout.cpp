#include "corpus/original_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "base/sha256.hpp"
#include "corpus/internal.hpp"
#include "corpus/manifest.hpp"
#include "formats/array_file.hpp"
#include "formats/npy.hpp"

namespace mbcc::corpus {
namespace {

// The format of the probe.json written beside a converted folder: the probe's own
// (SCHEMA_VERSION in python/mbcc_probe), which the loaders read.
constexpr int kProbeSchemaVersion = 2;

namespace fs = std::filesystem;

// What the original nightly job wrote for each of its models, and how mbcc checks it.
struct OriginalModel {
  std::string_view folder;  // the original model_name
  std::string_view model;   // the mbcc model (the probe's zoo has the Gluon ones)
  std::string_view save_api;
  std::string_view kind;  // "symbol" or "gluon"
  std::string_view writer;
  bool checkpoint;                            // -symbol.json + -NNNN.params; else one -params file
  bool labels;                                // the -data dict's 'labels' feed softmax_label
  std::array<std::string_view, 5> load_apis;  // empty entries unused
  std::optional<Tolerance> tolerance;
};

// The load APIs are those of the same save API in mbcc's own catalogue
// (python/mbcc_probe/catalog.py); the LSTM gets the tolerance of the zoo's LSTM.
const std::array<OriginalModel, 4> kModels = {{
    {.folder = "module_checkpoint_api",
     .model = "orig-mlp",
     .save_api = "module-checkpoint",
     .kind = "symbol",
     .writer = "Module.save_checkpoint",
     .checkpoint = true,
     .labels = true,
     .load_apis = {"module-load-checkpoint", "gluon-imports", "c-predict", "c-executor",
                   "c-cachedop"},
     .tolerance = std::nullopt},
    {.folder = "lenet_gluon_save_params_api",
     .model = "orig-lenet",
     .save_api = "gluon-save-params",
     .kind = "gluon",
     .writer = "Block.save_params",
     .checkpoint = false,
     .labels = false,
     .load_apis = {"gluon-load-params", "gluon-load-parameters"},
     .tolerance = std::nullopt},
    {.folder = "lenet_gluon_hybrid_export_api",
     .model = "orig-lenet-hybrid",
     .save_api = "gluon-export",
     .kind = "gluon",
     .writer = "HybridBlock.export",
     .checkpoint = true,
     .labels = false,
     .load_apis = {"gluon-imports", "module-load-checkpoint", "c-predict", "c-executor",
                   "c-cachedop"},
     .tolerance = std::nullopt},
    {.folder = "lstm_gluon_save_parameters_api",
     .model = "orig-lstm",
     .save_api = "gluon-save-parameters",
     .kind = "gluon",
     .writer = "Block.save_parameters",
     .checkpoint = false,
     .labels = false,
     .load_apis = {"gluon-load-parameters"},
     .tolerance = Tolerance{1e-4, 1e-5}},
}};

const OriginalModel* find_model(std::string_view folder) {
  for (const OriginalModel& m : kModels) {
    if (m.folder == folder) return &m;
  }
  return nullptr;
}

// The save API of a folder holding Block.save's files (the name in mbcc's catalogue).
constexpr std::string_view kBlockSaveApi = "gluon-block-save";
// Where MXNet 2.0's Block.save(prefix) writes the parameters, whatever the prefix: this name, in
// the working directory (docs/releases.md), so the 2.0 branch's job never uploads them.
constexpr std::string_view kBlockSaveParams = "MyModel-model.params";

// A version folder is named by what the producer calls itself (mx.__version__). These releases
// call themselves otherwise than their names; every other release's name is its __version__
// (measured on the installed wheels). A folder "2.0.0" could also be a build of the 2.0
// branch's master, which calls itself so too; no 2.0.0 release exists to confuse it with.
struct OwnVersionName {
  std::string_view folder, release;
};
constexpr std::array<OwnVersionName, 2> kOwnVersionNames = {{
    {"2.0.0", "2.0.0a0"},
    {"2.0.0beta1", "2.0.0b1"},
}};

std::string release_of_folder(std::string_view folder) {
  for (const OwnVersionName& name : kOwnVersionNames) {
    if (name.folder == folder) return std::string(name.release);
  }
  return std::string(folder);
}

std::string known_folders() {
  std::string out;
  for (const OriginalModel& m : kModels) out += (out.empty() ? "" : ", ") + std::string(m.folder);
  return out;
}

// "<model_name>-0001.params": a checkpoint's params file of any epoch.
bool is_epoch_params(std::string_view file, std::string_view name) {
  constexpr std::string_view kExt = ".params";
  if (file.size() != name.size() + 1 + 4 + kExt.size() || !file.starts_with(name) ||
      file[name.size()] != '-' || !file.ends_with(kExt)) {
    return false;
  }
  const std::string_view digits = file.substr(name.size() + 1, 4);
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The files of one folder, by what they are.
struct FolderFiles {
  std::vector<std::string> symbol, params;   // more than one is a broken folder
  std::vector<std::string> block_save_json;  // <model_name>-params-model.json, without -params
  std::optional<store::ObjectInfo> data, inference;
  std::vector<store::ObjectInfo> model_objects;  // symbol and params, to download
  std::vector<std::string> other;                // file names the layout does not have
};

FolderFiles classify(const OriginalFolder& folder, const OriginalModel& model) {
  FolderFiles files;
  const std::string name(model.folder);
  for (const store::ObjectInfo& object : folder.objects) {
    const std::string file = object.key.substr(folder.folder.size());
    if (file == name + "-data") {
      files.data = object;
    } else if (file == name + "-inference") {
      files.inference = object;
    } else if (model.checkpoint && file == name + "-symbol.json") {
      files.symbol.push_back(file);
      files.model_objects.push_back(object);
    } else if (model.checkpoint ? is_epoch_params(file, name) : file == name + "-params") {
      files.params.push_back(file);
      files.model_objects.push_back(object);
    } else if (!model.checkpoint && file == name + "-params-model.json") {
      files.block_save_json.push_back(file);  // the 2.0 branch's job: Block.save(prefix-params)
    } else {
      files.other.push_back(file);
    }
  }
  if (!files.params.empty()) {  // a 1.x folder, whatever else it holds
    files.other.insert(files.other.end(), files.block_save_json.begin(),
                       files.block_save_json.end());
    files.block_save_json.clear();
  }
  return files;
}

// Why the folder cannot become a bundle before anything is downloaded, or nothing.
std::string missing_files(const FolderFiles& files, const OriginalModel& model,
                          const std::string& where) {
  const std::string name(model.folder);
  const auto one = [&](const std::vector<std::string>& found, const std::string& wanted) {
    if (found.size() == 1) return std::string();
    return found.empty()
               ? fmt::format("{}{}: missing", where, wanted)
               : fmt::format("{}: {} files named {} (one expected)", where, found.size(), wanted);
  };
  if (!files.data) return fmt::format("{}{}-data: missing", where, name);
  if (!files.inference) return fmt::format("{}{}-inference: missing", where, name);
  if (!files.block_save_json.empty()) {
    return fmt::format(
        "{}{}: Block.save's model JSON without its parameters: MXNet 2.0's Block.save writes "
        "them to a hard-coded {} in the producer's working directory, not beside the JSON, so "
        "the 2.0 branch's nightly job never put them in this folder",
        where, files.block_save_json.front(), kBlockSaveParams);
  }
  std::string problem = model.checkpoint ? one(files.symbol, name + "-symbol.json") : "";
  if (!problem.empty()) return problem;
  return one(files.params, name + (model.checkpoint ? "-NNNN.params" : "-params"));
}

std::string store_name(const store::Store& store, std::string_view key) {
  std::string url = store.url();
  if (!url.empty() && url.back() != '/') url += '/';
  return url + std::string(key);
}

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> parts;
  while (!key.empty()) {
    const std::size_t slash = std::min(key.find('/'), key.size());
    parts.push_back(key.substr(0, slash));
    key.remove_prefix(std::min(slash + 1, key.size()));
  }
  return parts;
}

// The model of a folder list_original_layout kept (so one of kModels).
const OriginalModel& model_of(const OriginalFolder& folder) {
  return *find_model(split_key(folder.folder)[1]);
}

// One golden tensor of a converted bundle.
struct Golden {
  std::string name, kind;  // kind: "float" or "label" for inputs, "" for outputs
  std::string file;        // bundle-relative .npy path
  std::vector<std::byte> bytes;
  Tensor tensor;
};

// The array `key` of the dict in `path` (mx.nd.save's NDArray list in 1.x, mx.npx.savez's npz
// in the 2.0 branch), as `name`; the error says what is wrong, naming the file as the store has
// it.
Result<Golden> read_golden(const fs::path& path, const std::string& source, std::string_view key,
                           std::string name, std::string kind, std::string file) {
  Result<FileBytes> bytes = read_file(path);
  if (!bytes.ok()) return bytes.error();
  Result<NDArrayList> list = parse_array_file(bytes->bytes(), bytes->owner, source);
  if (!list.ok()) return list.error();
  const auto at = std::find(list->names.begin(), list->names.end(), key);
  if (at == list->names.end()) {
    Error e = Error::plain(source, "");
    e.field = "names";
    e.found = list->names.empty() ? "a list without names"
                                  : fmt::format("\"{}\"", fmt::join(list->names, "\", \""));
    e.allowed = fmt::format("a dict with the array \"{}\"", key);
    return e;
  }
  const NDArrayRecord& record = list->arrays[static_cast<std::size_t>(at - list->names.begin())];
  if (record.is_none || record.storage != StorageType::kDefault) {
    Error e = Error::plain(source, "");
    e.field = fmt::format("\"{}\"", key);
    e.found = record.is_none ? "a none array" : std::string(storage_type_name(record.storage));
    e.allowed = "a dense array";
    return e;
  }
  return Golden{std::move(name), std::move(kind), std::move(file), serialize_npy(record.values),
                record.values};
}

// Writes `bytes` at `dir`/`path` and returns its manifest entry.
Result<BundleFile> put_file(const fs::path& dir, const std::string& path, FileRole role,
                            std::span<const std::byte> bytes) {
  std::error_code ec;
  fs::create_directories((dir / path).parent_path(), ec);
  MBCC_TRY(write_file_atomic(dir / path, bytes));
  return BundleFile{path, role, bytes.size(), sha256_hex(bytes)};
}

Result<BundleFile> listed_file(const fs::path& dir, const std::string& path, FileRole role) {
  Result<std::string> sha = sha256_file(dir / path);
  if (!sha.ok()) return sha.error();
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(dir / path, ec);
  if (ec) return Error::plain((dir / path).string(), "cannot stat: " + ec.message());
  return BundleFile{path, role, size, *sha};
}

TensorEntry entry_of(const Golden& g) {
  return {g.name, g.file, g.tensor.shape(), g.tensor.dtype(), g.kind};
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// The probe's description of the bundle: what its loaders read (python/mbcc_probe/loaders.py).
std::string probe_json(const Manifest& m, const std::vector<BundleFile>& model_files) {
  nlohmann::json files = nlohmann::json::array();
  for (const BundleFile& f : model_files) {
    files.push_back({{"path", f.path}, {"role", file_role_name(f.role)}});
  }
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array();
  for (const TensorEntry& e : m.inputs) inputs.push_back(detail::tensor_entry_json(e));
  for (const TensorEntry& e : m.outputs) outputs.push_back(detail::tensor_entry_json(e));
  nlohmann::json tolerance = nlohmann::json::object();
  if (m.tolerance) tolerance = {{"rtol", *m.tolerance->rtol}, {"atol", *m.tolerance->atol}};
  const nlohmann::json probe = {
      {"schema_version", kProbeSchemaVersion},
      {"model", m.model},
      {"save_api", m.save_api},
      {"model_kind", m.model_info.kind},
      {"model_prefix", nullptr},
      {"writer", m.model_info.writer},
      {"hybridized", m.model_info.hybridized},
      {"np_mode", false},
      {"model_files", files},
      {"inputs", inputs},
      {"outputs", outputs},
      {"import_input_names", m.import_input_names},
      {"load_apis", m.load_apis},
      {"tolerance", tolerance},
      {"internals", {{"status", "absent"}, {"reason", m.internals.reason}}},
      {"env", nlohmann::json::object()}};
  return probe.dump(1) + "\n";
}

struct Goldens {
  std::vector<Golden> inputs, outputs;
};

// The golden arrays of one folder, from its downloaded -data and -inference in `staged`. An
// error is the folder's content.
Result<Goldens> read_goldens(const OriginalModel& model, const fs::path& staged,
                             const std::string& where) {
  const std::string data = std::string(model.folder) + "-data";
  const std::string inference = std::string(model.folder) + "-inference";
  Goldens goldens;
  Result<Golden> input =
      read_golden(staged / data, where + data, "data", "data", "float", "data/input_0.npy");
  if (!input.ok()) return input.error();
  goldens.inputs.push_back(std::move(input).value());
  if (model.labels) {
    Result<Golden> labels = read_golden(staged / data, where + data, "labels", "softmax_label",
                                        "label", "data/input_1.npy");
    if (!labels.ok()) return labels.error();
    goldens.inputs.push_back(std::move(labels).value());
  }
  Result<Golden> output = read_golden(staged / inference, where + inference, "inference",
                                      "output_0", "", "data/output_0.npy");
  if (!output.ok()) return output.error();
  goldens.outputs.push_back(std::move(output).value());
  return goldens;
}

// Writes the bundle of one folder into `dir`, where its model files already are. An error is
// the view's.
Status write_bundle(const OriginalModel& model, const OriginalFolder& folder,
                    const FolderFiles& files, const Goldens& goldens, const fs::path& dir,
                    const std::string& where, const std::string& created) {
  Manifest m;
  m.model = std::string(model.model);
  m.save_api = std::string(model.save_api);
  m.model_info = {std::string(model.kind), std::nullopt, std::string(model.writer),
                  model.save_api == "gluon-export", false};
  // What the original job left unrecorded is said to be unknown, and where the bundle came from.
  const std::string unknown = "unknown: original MXNet nightly layout, " + where;
  m.producer.version = folder.key.producer;
  m.producer.requirement = "mxnet==" + folder.key.producer;
  m.producer.mxnet_version = std::string(split_key(folder.folder)[0]);  // as it named itself
  m.producer.python = m.producer.numpy = m.producer.platform = m.producer.machine = unknown;
  m.producer.probe_version = "none: converted by mbcc from the original MXNet nightly layout";
  m.producer.created = created;
  for (std::string_view api : model.load_apis) {
    if (!api.empty()) m.load_apis.emplace_back(api);
  }
  m.tolerance = model.tolerance;
  m.internals.status = InternalsStatus::kAbsent;
  m.internals.reason = "the original MXNet nightly layout keeps no per-node outputs";

  std::vector<BundleFile> model_files;
  for (const store::ObjectInfo& object : files.model_objects) {
    const std::string file = object.key.substr(folder.folder.size());
    const FileRole role = file.ends_with("-symbol.json") ? FileRole::kSymbol : FileRole::kParams;
    Result<BundleFile> listed = listed_file(dir, "model/" + file, role);
    if (!listed.ok()) return listed.error();
    model_files.push_back(*listed);
    m.files.push_back(*listed);
  }
  // symbol first, as the probe lists them
  std::sort(model_files.begin(), model_files.end(), [](const BundleFile& a, const BundleFile& b) {
    return (a.role == FileRole::kSymbol) > (b.role == FileRole::kSymbol);
  });
  for (const Golden& g : goldens.inputs) {
    Result<BundleFile> written = put_file(dir, g.file, FileRole::kInput, g.bytes);
    if (!written.ok()) return written.error();
    m.files.push_back(*written);
    m.inputs.push_back(entry_of(g));
    m.import_input_names.push_back(g.name);
  }
  for (const Golden& g : goldens.outputs) {
    Result<BundleFile> written = put_file(dir, g.file, FileRole::kOutput, g.bytes);
    if (!written.ok()) return written.error();
    m.files.push_back(*written);
    m.outputs.push_back(entry_of(g));
  }
  Result<BundleFile> probe =
      put_file(dir, "probe.json", FileRole::kProbe, as_bytes(probe_json(m, model_files)));
  if (!probe.ok()) return probe.error();
  m.files.push_back(*probe);
  std::sort(m.files.begin(), m.files.end(),
            [](const BundleFile& a, const BundleFile& b) { return a.path < b.path; });
  return write_file_atomic(dir / kManifestName, as_bytes(write_manifest(m)));
}

// Replaces whatever `dir` holds with kUnconvertedName saying `reason`.
Status write_unconverted(const fs::path& dir, const std::string& reason) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return Error::plain(dir.string(), "cannot create: " + ec.message());
  return write_file_atomic(dir / kUnconvertedName, as_bytes(reason + "\n"));
}

}  // namespace

Result<OriginalListing> list_original_layout(store::Store& store) {
  auto objects = store.list("");
  if (!objects) return objects.error();
  OriginalListing listing;
  std::map<std::string, OriginalFolder> by_folder;  // "1.2.1/module_checkpoint_api/" -> its files
  std::map<std::string, std::string> skipped;       // folder or key -> why, once each
  for (const store::ObjectInfo& object : *objects) {
    if (object.key.ends_with('/')) continue;  // a folder marker, as S3 consoles make them
    const std::vector<std::string_view> parts = split_key(object.key);
    if (!parts.empty() && parts[0] == kOriginalDataFolder) continue;
    if (parts.size() != 3) {
      skipped.emplace(object.key, "not a file of a <version>/<model_name>/ folder");
      continue;
    }
    const std::string folder = fmt::format("{}/{}/", parts[0], parts[1]);
    if (find_model(parts[1]) == nullptr) {
      skipped.emplace(folder,
                      "not a model of the original layout (known: " + known_folders() + ")");
      continue;
    }
    Status version = check_layout_name(parts[0], "MXNet version folder");
    if (!version.ok()) {
      skipped.emplace(folder, version.error().message());
      continue;
    }
    OriginalFolder& entry = by_folder[folder];
    entry.folder = folder;
    entry.objects.push_back(object);
  }
  // The bundle of a folder: its release, and the save API its files say (Block.save's JSON in
  // the 2.0 branch's Gluon parameters folder).
  std::map<BundleKey, OriginalFolder> folders;
  for (auto& [name, folder] : by_folder) {
    const OriginalModel& model = model_of(folder);
    const FolderFiles files = classify(folder, model);
    folder.key = {release_of_folder(split_key(name)[0]), std::string(model.model),
                  std::string(files.block_save_json.empty() ? model.save_api : kBlockSaveApi)};
    const auto [at, added] = folders.emplace(folder.key, folder);
    if (!added) {
      skipped.emplace(name, fmt::format("the same bundle as {} ({})", at->second.folder,
                                        folder.key.to_string()));
      continue;
    }
    for (const std::string& file : files.other) {
      skipped.emplace(name + file, "not a file of the original layout");
    }
  }
  for (auto& [key, folder] : folders) listing.folders.push_back(std::move(folder));
  for (const auto& [what, why] : skipped)
    listing.skipped.push_back(fmt::format("{}: {}", what, why));
  return listing;
}

Result<OriginalPull> pull_original_layout(store::Store& store,
                                          const std::vector<OriginalFolder>& folders,
                                          const fs::path& view) {
  const std::string created = detail::utc_now();
  OriginalPull result;
  const fs::path staging = view / ".original";  // -data and -inference before conversion
  std::vector<FolderFiles> classified;
  std::vector<std::string> problems;
  std::vector<store::GetRequest> requests;
  for (const OriginalFolder& folder : folders) {
    const OriginalModel& model = model_of(folder);
    classified.push_back(classify(folder, model));
    const FolderFiles& files = classified.back();
    problems.push_back(missing_files(files, model, store_name(store, folder.folder)));
    if (!problems.back().empty()) continue;
    const fs::path dir = bundle_dir(view, folder.key);
    for (const fs::path& d : {dir / "model", staging / folder.folder}) {
      std::error_code ec;
      fs::create_directories(d, ec);
      if (ec) return Error::plain(d.string(), "cannot create: " + ec.message());
    }
    for (const store::ObjectInfo& object : files.model_objects) {
      requests.push_back(
          {object.key, dir / "model" / object.key.substr(folder.folder.size()), object.size});
    }
    for (const store::ObjectInfo& object : {*files.data, *files.inference}) {
      requests.push_back({object.key, staging / object.key, object.size});
    }
  }
  auto got = store.get(requests);
  if (!got) return got.error();
  result.downloaded = *got;

  for (std::size_t i = 0; i < folders.size(); ++i) {
    const OriginalFolder& folder = folders[i];
    const fs::path dir = bundle_dir(view, folder.key);
    const OriginalModel& model = model_of(folder);
    const std::string where = store_name(store, folder.folder);
    std::string reason = problems[i];
    if (reason.empty()) {
      Result<Goldens> goldens = read_goldens(model, staging / folder.folder, where);
      if (goldens.ok()) {
        MBCC_TRY(write_bundle(model, folder, classified[i], *goldens, dir, where, created));
      } else {
        reason = goldens.error().message();
      }
    }
    if (!reason.empty()) {
      MBCC_TRY(write_unconverted(dir, reason));
      result.unconverted.push_back(folder.key.to_string() + ": " + reason);
    }
    result.bundles.push_back(folder.key);
  }
  std::error_code ec;
  fs::remove_all(staging, ec);
  std::sort(result.bundles.begin(), result.bundles.end());
  return result;
}

}  // namespace mbcc::corpus
