// mbcc convert: rewrites an array file in another format, e.g. a 1.x .params as an .npz that
// NumPy reads, or a 2.0 .npz as V2 .params that every release since 0.12 reads.
#include <fmt/format.h>

#include "base/file.hpp"
#include "formats/array_file.hpp"
#include "cli/commands.hpp"
#include "formats/ndarray_file.hpp"
#include "formats/npy.hpp"

namespace mbcc::cli {
namespace {

struct OutputFormat {
  std::string_view name;
  std::string_view description;
};

constexpr OutputFormat kOutputFormats[] = {
    {"npz", "NumPy archive; sparse arrays in MXNet 2.0's folder layout"},
    {"npy", "one NumPy array (the input must hold exactly one dense array)"},
    {"v2", "NDArray list, V2 records (0.12 and later, np-shape off)"},
    {"v3", "NDArray list, V3 records (1.5 and later, np-shape on)"},
    {"v0", "NDArray list, records without magic (every release)"},
};

Result<std::vector<std::byte>> encode(const NDArrayList& list, std::string_view format) {
  if (format == "v2") return serialize_ndarray_list(list, RecordVersion::kV2);
  if (format == "v3") return serialize_ndarray_list(list, RecordVersion::kV3);
  if (format == "v0") return serialize_ndarray_list(list, RecordVersion::kV0);
  if (format == "npy") {
    if (list.arrays.size() != 1 || list.arrays[0].storage != StorageType::kDefault) {
      return Error::plain("", fmt::format("npy holds one dense array; the input holds {} arrays",
                                          list.arrays.size()));
    }
    return serialize_npy(list.arrays[0].values);
  }
  std::vector<NpzEntry> entries;
  for (std::size_t i = 0; i < list.arrays.size(); ++i) {
    std::string name = list.names.empty() ? fmt::format("arr_{}", i) : list.names[i];
    entries.push_back({std::move(name), list.arrays[i], false});
  }
  return serialize_npz(entries);
}

}  // namespace

void add_convert(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "convert", "Rewrite an array file (.params, .npy, .npz) in another format");
  struct Options {
    std::string input;
    std::string output;
    std::string format = "npz";
  };
  auto opts = std::make_shared<Options>();  // owned by the callback, which lives in `app`
  cmd->add_option("input", opts->input, "the file to read")->required()->check(CLI::ExistingFile);
  cmd->add_option("output", opts->output, "the file to write (replaced atomically)")->required();
  std::string help = "output format:";
  std::vector<std::string> names;
  for (const OutputFormat& f : kOutputFormats) {
    help += fmt::format("\n  {}  {}", f.name, f.description);
    names.emplace_back(f.name);
  }
  cmd->add_option("--to", opts->format, help)->check(CLI::IsMember(names))->capture_default_str();
  cmd->callback([opts, &exit_code] {
    auto list = read_array_file(opts->input);
    if (!list.ok()) {
      fmt::print(stderr, "mbcc convert: {}\n", list.error().message());
      exit_code = 1;
      return;
    }
    auto bytes = encode(*list, opts->format);
    if (!bytes.ok()) {
      Error e = bytes.error();
      e.source = opts->output;
      fmt::print(stderr, "mbcc convert: {}\n", e.message());
      exit_code = 1;
      return;
    }
    if (auto written = write_file_atomic(opts->output, *bytes); !written.ok()) {
      fmt::print(stderr, "mbcc convert: {}\n", written.error().message());
      exit_code = 2;
      return;
    }
    exit_code = 0;
  });
}

}  // namespace mbcc::cli
