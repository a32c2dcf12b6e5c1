// manifest.json: what a bundle is (the case, the producer, the seeds), every file it holds
// with role, size and sha256, its golden inputs and outputs, the load APIs that apply and the
// internals index. It is the contract between `mbcc generate` and `mbcc check`; the reader is
// strict (every field checked, unknown fields refused) and errors give the JSON path.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "tensor/dtype.hpp"
#include "tensor/tensor.hpp"

namespace mbcc::corpus {

// Bumped when a reader of the previous version would misread a manifest. Version 2 added
// internals kept in one archive and files kept once in the store's shared folder; version 3
// keeps the internals' entries in a file of the bundle (role internals-index) instead of the
// manifest, and lets a shared file be kept gzip'd. Older manifests are read as they are.
inline constexpr int kManifestSchemaVersion = 3;
inline constexpr int kOldestManifestSchemaVersion = 1;

// What a bundle file is, which decides how validation parses it.
enum class FileRole {
  kSymbol,            // symbol (graph) JSON
  kParams,            // parameters: an NDArray list file or an npz archive
  kModelJson,         // Block.save's model JSON (holds graphs as strings)
  kInput,             // golden input, .npy
  kOutput,            // golden output, .npy
  kInternal,          // one per-node output of the forward pass, .npy
  kInternalsArchive,  // every per-node output of the forward pass, one npz member each
  kInternalsIndex,    // the probe's index of the internals (JSON)
  kProbe,             // the probe's own description of the bundle (JSON), read by its loaders
  kBlockSource,       // Python code of a user's Block (`mbcc add --block`), rebuilt by loaders
};

struct FileRoleInfo {
  FileRole role;
  std::string_view name;  // as written in the manifest
};

inline constexpr std::array<FileRoleInfo, 10> kFileRoles = {{
    {FileRole::kSymbol, "symbol"},
    {FileRole::kParams, "params"},
    {FileRole::kModelJson, "model-json"},
    {FileRole::kInput, "input"},
    {FileRole::kOutput, "output"},
    {FileRole::kInternal, "internal"},
    {FileRole::kInternalsArchive, "internals-archive"},
    {FileRole::kInternalsIndex, "internals-index"},
    {FileRole::kProbe, "probe"},
    {FileRole::kBlockSource, "block-source"},
}};

constexpr bool file_roles_in_order() {
  for (std::size_t i = 0; i < kFileRoles.size(); ++i) {
    if (static_cast<std::size_t>(kFileRoles[i].role) != i) return false;
  }
  return kFileRoles.size() == static_cast<std::size_t>(FileRole::kBlockSource) + 1;
}
static_assert(file_roles_in_order(), "kFileRoles must list every role, in enum order");

std::string_view file_role_name(FileRole role);
std::optional<FileRole> file_role_from_name(std::string_view name);

struct BundleFile {
  std::string path;  // relative to the bundle, '/'-separated
  FileRole role = FileRole::kParams;
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  // The bytes are kept once for the whole store, in its shared folder under their sha256
  // (layout.hpp), instead of in the bundle's folder (schema 2).
  bool shared = false;
  // The shared copy is gzip'd (schema 3): STORE/objects/<aa>/<sha256>.gz.
  bool compressed = false;
  bool operator==(const BundleFile&) const = default;
};

// A golden tensor. Inputs have a kind: "float", "tokens" (integer ids stored as float32) or
// "label" (fed only by loaders that bind every graph input); outputs have none.
struct TensorEntry {
  std::string name;
  std::string file;
  Shape shape;
  DType dtype = DType::kFloat32;
  std::string kind;
  bool operator==(const TensorEntry&) const = default;
};

struct ModelInfo {
  std::string kind;                   // "symbol" or "gluon"
  std::optional<std::string> prefix;  // the 1.x Gluon prefix ("lstm_"), absent otherwise
  std::string writer;                 // the call that wrote the files ("HybridBlock.export")
  bool hybridized = false;
  bool np_mode = false;  // saved with MXNet's numpy semantics on
  bool operator==(const ModelInfo&) const = default;
};

struct Producer {
  std::string version;        // the release as mbcc names it: the store folder ("2.0.0b1")
  std::string requirement;    // what pip installed ("mxnet==1.7.0.post2")
  std::string mxnet_version;  // mxnet.__version__ ("2.0.0beta1")
  std::optional<int64_t> mxget_version;                 // MXGetVersion; 0.11 has none
  std::optional<std::map<std::string, bool>> features;  // mx.runtime.Features(), 1.5+
  std::string python;
  std::string numpy;
  std::string platform;
  std::string machine;
  std::vector<std::string> source_patches;  // modules mbcc had to fix to import on Python 3.11
  std::string probe_version;
  std::string created;  // UTC, "2024-05-01T12:00:00Z": the only field that depends on when
  bool operator==(const Producer&) const = default;
};

struct Tolerance {
  std::optional<double> rtol;
  std::optional<double> atol;
  bool operator==(const Tolerance&) const = default;
};

enum class InternalsStatus { kPresent, kAbsent, kFailed };

// One per-node output of the forward pass, in the order get_internals() lists it.
struct InternalEntry {
  int64_t index = 0;  // position in get_internals()
  std::string name;   // output name ("fc1_output")
  std::string node;
  std::string op;
  int64_t output = 0;  // output index of the node
  TensorEntry tensor;  // tensor.file: its .npy, or the archive that holds it
  std::string member;  // the archive's member holding it (schema 2); empty for an .npy
  bool operator==(const InternalEntry&) const = default;
};

struct Internals {
  InternalsStatus status = InternalsStatus::kAbsent;
  std::string reason;  // why absent or failed
  std::string symbol;  // the graph file they were computed from (present only)
  // Schema 3: the file of role internals-index that lists `outputs`, which parse_manifest leaves
  // empty and validate_bundle fills; "" when the manifest lists them itself.
  std::string index;
  std::vector<InternalEntry> outputs;
  bool operator==(const Internals&) const = default;
};

// One Python load API run on the producer right after saving.
struct SelfCheck {
  std::string load_api;
  std::string status;  // "ok", "failed" or "unsupported"
  std::optional<double> max_abs_err;
  std::string reason;
  bool operator==(const SelfCheck&) const = default;
};

// A user's Block (`mbcc add --block`): the callable that builds it, its keyword arguments, and
// the bundle folder holding the copy of its Python code that loaders put on sys.path.
struct UserBlock {
  std::string callable;  // "MODULE:CALLABLE"
  std::string kwargs;    // a JSON object, as compact text
  std::string path;      // bundle folder of the code ("block")
  bool operator==(const UserBlock&) const = default;
};

// Where a bundle came from when it is not the zoo's: a team's own files, brought in by
// `mbcc add`. Absent for generated bundles; readers that check need nothing of it.
struct Origin {
  std::string kind;                               // "user"
  std::vector<std::string> command;               // the `mbcc add` command line, as given
  std::map<std::string, std::string> file_kinds;  // model file -> what mbcc's readers found
  std::string producer_from;                      // how the producer release was chosen
  std::optional<UserBlock> block;
  bool operator==(const Origin&) const = default;
};

using SeedValue = std::variant<int64_t, std::string>;

struct Manifest {
  int schema_version = kManifestSchemaVersion;
  std::string model;  // the case: model × save API
  std::string save_api;
  ModelInfo model_info;
  Producer producer;
  std::map<std::string, SeedValue> seeds;  // numbers, or how a stream was derived
  std::map<std::string, std::string> env;  // environment the producer ran under
  std::vector<BundleFile> files;           // sorted by path
  std::vector<TensorEntry> inputs;
  std::vector<TensorEntry> outputs;
  std::vector<std::string> load_apis;
  std::vector<std::string> import_input_names;  // graph inputs, in the order loaders feed them
  std::optional<Tolerance> tolerance;           // overrides of the comparator's defaults
  Internals internals;
  std::vector<SelfCheck> self_check;
  std::optional<Origin> origin;
  bool operator==(const Manifest&) const = default;

  const BundleFile* find_file(std::string_view path) const;
};

// Parses and validates `text` (every field, and that inputs, outputs and internals name files
// of the right role). `source` names the file in errors.
Result<Manifest> parse_manifest(std::string_view text, const std::string& source);
Result<Manifest> read_manifest(const std::filesystem::path& path);

// The manifest as JSON text: keys sorted, one-space indent, newline at the end, so equal
// manifests are equal bytes. From schema 3 the internals' entries are not in it: they are
// write_internals_index's text, in the file `internals.index`.
std::string write_manifest(const Manifest& manifest);

// A schema 3 internals index: {"outputs": [entries as a schema 2 manifest lists them]}.
inline constexpr std::string_view kInternalsIndexPath = "internals/index.json";
std::string write_internals_index(const std::vector<InternalEntry>& outputs);
Result<std::vector<InternalEntry>> parse_internals_index(std::string_view text,
                                                         const std::string& source);

// Whether `created` is "YYYY-MM-DDTHH:MM:SSZ".
bool is_utc_timestamp(std::string_view created);

}  // namespace mbcc::corpus
