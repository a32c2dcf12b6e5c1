// mbcc inspect: says what each file is and what it holds. Every file becomes one JSON object
// (printed as is with --json, or rendered as text), so both outputs always agree.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "base/file.hpp"
#include "cli/commands.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"
#include "formats/sniff.hpp"
#include "formats/symbol_json.hpp"
#include "formats/symbol_upgrade.hpp"
#include "tensor/summary.hpp"

namespace mbcc::cli {
namespace {

using nlohmann::json;

json describe_tensor_values(const Tensor& values) {
  TensorSummary s = summarize(values);
  json out = {{"min", s.min}, {"max", s.max}, {"mean", s.mean}};
  if (s.nan > 0) out["nan"] = s.nan;
  if (s.inf > 0) out["inf"] = s.inf;
  return out;
}

json describe_array(const NDArrayRecord& a, const std::string& name) {
  json out = {{"name", name}, {"shape", a.shape}};
  if (a.is_none) {
    out["none"] = true;
    return out;
  }
  out["dtype"] = dtype_info(a.values.dtype()).name;
  out["storage"] = storage_type_name(a.storage);
  if (a.storage != StorageType::kDefault) out["stored_shape"] = a.values.shape();
  out["values"] = describe_tensor_values(a.values);
  return out;
}

json describe_ndarray_list(const NDArrayList& list) {
  json versions = json::array();
  json arrays = json::array();
  for (std::size_t i = 0; i < list.arrays.size(); ++i) {
    const NDArrayRecord& a = list.arrays[i];
    std::string_view version = record_version_name(a.version);
    if (std::find(versions.begin(), versions.end(), version) == versions.end()) {
      versions.push_back(version);
    }
    json array = describe_array(a, list.names.empty() ? fmt::format("[{}]", i) : list.names[i]);
    array["record_version"] = version;
    arrays.push_back(std::move(array));
  }
  return {{"format", "ndarray-list"}, {"record_versions", versions},
          {"named", !list.names.empty()}, {"arrays", arrays}};
}

json describe_npz(const std::vector<NpzEntry>& entries) {
  json arrays = json::array();
  for (const NpzEntry& e : entries) {
    json array = describe_array(e.array, e.name);
    array["compressed"] = e.compressed;
    arrays.push_back(std::move(array));
  }
  return {{"format", "npz"}, {"arrays", arrays}};
}

json describe_symbol(const SymbolFile& file) {
  // What MXNet 1.9.1, the newest 1.x, makes of the file: the upgrade passes it applies, then
  // its listings. (2.0 under np-shape also rewrites __shape__ hints; listings are the same.)
  UpgradedSymbol upgraded = upgrade_symbol(file, kLoader191);
  json passes = json::array();
  for (UpgradePass pass : upgraded.passes) passes.push_back(upgrade_pass_name(pass));
  json warnings = file.warnings;
  for (const std::string& w : upgraded.warnings) warnings.push_back(w);
  return {{"format", "symbol-json"},
          {"generation", generation_name(file.generation)},
          {"producer_version", mxnet_version_string(file.producer_version)},
          {"producer_version_recorded", file.version_recorded},
          {"np_shape", file.is_np_shape},
          {"upgrade_loader", mxnet_version_string(kLoader191.version)},
          {"upgrade_passes", passes},
          {"ops", op_histogram(upgraded.graph)},
          {"arguments", list_arguments(upgraded.graph)},
          {"auxiliary_states", list_auxiliary_states(upgraded.graph)},
          {"outputs", list_outputs(upgraded.graph)},
          {"warnings", warnings}};
}

// A JSON file is a symbol graph when it has "nodes"; other JSON is named, not guessed at.
json describe_json_file(std::span<const std::byte> bytes, const std::string& path) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  json probe = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (probe.is_object() && !probe.contains("nodes")) {
    std::vector<std::string> keys;
    for (const auto& item : probe.items()) keys.push_back(item.key());
    return {{"format", "json"},
            {"error", fmt::format("{}: a JSON document but not a symbol graph (keys: {})", path,
                                  fmt::join(keys, ", "))}};
  }
  auto symbol = parse_symbol_json(text, path);
  if (!symbol.ok()) return {{"error", symbol.error().message()}};
  return describe_symbol(*symbol);
}

void print_symbol_text(const json& file) {
  fmt::print(", symbol graph of generation {}, written by MXNet {}{}{}\n",
             file["generation"].get<std::string>(), file["producer_version"].get<std::string>(),
             file["producer_version_recorded"].get<bool>() ? "" : " (assumed: no version recorded)",
             file["np_shape"].get<bool>() ? ", np-shape semantics" : "");
  auto list = [&file](const char* key) {
    std::vector<std::string> items = file[key];
    return items.empty() ? std::string("none") : fmt::format("{}", fmt::join(items, ", "));
  };
  fmt::print("  upgrade passes:   {} (as MXNet {} loads it)\n", list("upgrade_passes"),
             file["upgrade_loader"].get<std::string>());
  std::vector<std::string> ops;
  for (const auto& [op, count] : file["ops"].items()) ops.push_back(fmt::format("{} {}", op, count.get<int>()));
  fmt::print("  ops:              {}\n", ops.empty() ? "none" : fmt::format("{}", fmt::join(ops, ", ")));
  fmt::print("  arguments:        {}\n", list("arguments"));
  fmt::print("  auxiliary states: {}\n", list("auxiliary_states"));
  fmt::print("  outputs:          {}\n", list("outputs"));
  for (const json& w : file["warnings"]) fmt::print("  warning: {}\n", w.get<std::string>());
}

// The description of one file; {"error": …} where it cannot be read as what it claims to be.
json inspect_file(const std::string& path) {
  json out = {{"file", path}};
  auto file = read_file(path);
  if (!file.ok()) {
    out["error"] = file.error().message();
    return out;
  }
  FileKind kind = sniff_file_kind(file->bytes());
  out["kind"] = file_kind_name(kind);
  out["size"] = file->size;
  auto fill = [&out]<class T>(const Result<T>& parsed, auto describe) {
    if (parsed.ok()) {
      out.update(describe(*parsed));
    } else {
      out["error"] = parsed.error().message();
    }
  };
  switch (kind) {
    case FileKind::kNDArrayList:
      fill(parse_ndarray_list(file->bytes(), file->owner, path), describe_ndarray_list);
      break;
    case FileKind::kNpy:
      fill(parse_npy(file->bytes(), file->owner, path), [](const Tensor& t) {
        NDArrayRecord record;
        record.shape = t.shape();
        record.values = t;
        return json{{"format", "npy"}, {"arrays", json::array({describe_array(record, "")})}};
      });
      break;
    case FileKind::kNpz:
      fill(parse_npz(file->bytes(), path), describe_npz);
      break;
    case FileKind::kJson:
      out.update(describe_json_file(file->bytes(), path));
      break;
    default:
      out["error"] = fmt::format("{}: not an MXNet file ({})", path, file_kind_name(kind));
  }
  return out;
}

std::string format_number(double v) { return fmt::format("{:.6g}", v); }

void print_text(const json& file) {
  fmt::print("{}: {}", file["file"].get<std::string>(),
             file.value("kind", std::string("unreadable")));
  if (file.contains("error")) {
    fmt::print("\n  error: {}\n", file["error"].get<std::string>());
    return;
  }
  if (file.contains("record_versions")) {
    std::vector<std::string> versions = file["record_versions"];
    fmt::print(", records {}, {}", fmt::join(versions, "+"),
               file["named"].get<bool>() ? "named" : "unnamed (a list)");
  }
  if (file.contains("arrays")) {
    fmt::print(", {} arrays\n", file["arrays"].size());
    for (const json& a : file["arrays"]) {
      std::vector<int64_t> shape = a["shape"];
      fmt::print("  {:<40} {:<16}", a["name"].get<std::string>(), shape_to_string(shape));
      if (a.contains("none")) {
        fmt::print(" none (no data)\n");
        continue;
      }
      fmt::print(" {:<8} {:<10}", a["dtype"].get<std::string>(), a["storage"].get<std::string>());
      const json& v = a["values"];
      fmt::print(" min {} max {} mean {}", format_number(v["min"]), format_number(v["max"]),
                 format_number(v["mean"]));
      if (v.contains("nan")) fmt::print(" nan {}", v["nan"].get<uint64_t>());
      if (v.contains("inf")) fmt::print(" inf {}", v["inf"].get<uint64_t>());
      fmt::print("\n");
    }
    return;
  }
  print_symbol_text(file);
}

}  // namespace

void add_inspect(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Say what each file is and what it holds");
  struct Options {
    std::vector<std::string> files;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("files", opts->files, "files to inspect")->required();
  cmd->add_flag("--json", opts->json, "print one JSON array with an object per file");
  cmd->callback([opts, &exit_code] {
    json all = json::array();
    for (const std::string& path : opts->files) all.push_back(inspect_file(path));
    if (opts->json) {
      fmt::print("{}\n", all.dump(2));
    } else {
      for (const json& file : all) print_text(file);
    }
    bool any_error = std::any_of(all.begin(), all.end(),
                                 [](const json& f) { return f.contains("error"); });
    exit_code = any_error ? 1 : 0;
  });
}

}  // namespace mbcc::cli
