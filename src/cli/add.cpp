// mbcc add: a team's own saved model made a bundle of the store (part corpus, corpus/add.hpp).
#include <fmt/format.h>

#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "base/install_dirs.hpp"
#include "cli/commands.hpp"
#include "cli/publish.hpp"
#include "cli/stores.hpp"
#include "corpus/add.hpp"
#include "corpus/layout.hpp"

namespace mbcc::cli {
namespace {

struct AddArgs {
  std::vector<std::string> files;
  std::string name;
  std::string producer;
  std::string store = "mbcc-store";
  std::vector<std::string> inputs;
  std::vector<std::string> input_files;
  std::vector<std::string> input_ranges;
  std::string block;
  std::string python_path;
  std::string kwargs = "{}";
  bool force = false;
  StoreArgs store_args;
};

// The command as the manifest records it: what was asked for, option by option.
std::vector<std::string> command_line(const AddArgs& args) {
  std::vector<std::string> command = {"mbcc", "add"};
  command.insert(command.end(), args.files.begin(), args.files.end());
  command.insert(command.end(), {"--name", args.name});
  if (!args.producer.empty()) command.insert(command.end(), {"--producer", args.producer});
  for (const std::string& i : args.inputs) command.insert(command.end(), {"--input", i});
  for (const std::string& i : args.input_files) command.insert(command.end(), {"--input-file", i});
  for (const std::string& i : args.input_ranges)
    command.insert(command.end(), {"--input-range", i});
  if (!args.block.empty()) {
    command.insert(command.end(), {"--block", args.block, "--kwargs", args.kwargs});
    if (!args.python_path.empty())
      command.insert(command.end(), {"--python-path", args.python_path});
  }
  if (args.force) command.emplace_back("--force");
  return command;
}

template <typename T, typename Parse>
Status parse_all(const std::vector<std::string>& texts, std::vector<T>& out, Parse parse) {
  for (const std::string& text : texts) {
    Result<T> value = parse(text);
    if (!value.ok()) return value.error();
    out.push_back(std::move(*value));
  }
  return Ok{};
}

// An S3 store gets the bundle through publish's path: made in a local folder first, then sent
// file by file, verified, the manifest last. An existing bundle there is kept unless --force.
int publish_to_s3(const AddArgs& args, const corpus::AddResult& added,
                  const std::filesystem::path& local) {
  ProgressLine progress;
  Result<std::unique_ptr<store::Store>> destination =
      open_store(args.store, args.store_args, progress);
  Result<bool> exists =
      destination.ok()
          ? (*destination)->exists(corpus::bundle_object_key(added.key, corpus::kManifestName))
          : Result<bool>(destination.error());
  if (!exists.ok()) {
    fmt::print(stderr, "mbcc add: {}\nnothing was written to {}\n", exists.error().message(),
               args.store);
    return 1;
  }
  if (*exists && !args.force) {
    fmt::print(
        stderr,
        "mbcc add: a bundle exists at {}/{}; --force replaces it\nnothing was written to {}\n",
        args.store, added.key.to_string(), args.store);
    return 1;
  }
  PublishArgs publish;
  publish.source = local.string();
  publish.destination = args.store;
  publish.force = args.force;
  publish.bundles = {{added.key.producer}, {added.key.model}, {added.key.save_api}};
  publish.store_args = args.store_args;
  return run_publish(publish) == 0 ? 0 : 1;
}

int run_add(const AddArgs& args) {
  Result<std::filesystem::path> python_dir = find_installed(InstalledPart::kProbe);
  if (!python_dir.ok()) {
    fmt::print(stderr, "mbcc add: {}\n", python_dir.error().message());
    return 2;
  }
  corpus::AddOptions options;
  options.files.assign(args.files.begin(), args.files.end());
  options.name = args.name;
  options.producer = args.producer;
  const bool s3 = store::is_s3_url(args.store);
  std::filesystem::path local = args.store;
  std::optional<LockedDir> staging;  // an S3 add's local folder, which goes whatever happens
  if (s3) {
    Result<LockedDir> dir = make_view_dir(args.store_args);
    if (!dir.ok()) {
      fmt::print(stderr, "mbcc add: {}\n", dir.error().message());
      return 2;
    }
    staging.emplace(std::move(dir).value());
    local = staging->path();
  }
  options.store = local;
  options.force = args.force;
  options.command = command_line(args);
  options.python_dir = *python_dir;
  if (!args.block.empty()) {
    options.block = corpus::BlockOption{args.block, args.python_path, args.kwargs};
  }
  Status parsed = parse_all(args.inputs, options.inputs.inputs, corpus::parse_input_option);
  if (parsed.ok())
    parsed = parse_all(args.input_ranges, options.inputs.ranges, corpus::parse_range_option);
  if (parsed.ok())
    parsed = parse_all(args.input_files, options.inputs.files, corpus::parse_input_file_option);
  if (!parsed.ok()) {
    fmt::print(stderr, "mbcc add: {}\n", parsed.error().message());
    return 2;
  }
  options.progress = [](std::string_view line) { fmt::print(stderr, "  {}\n", line); };
  options.env_options.progress = [](std::string_view line) {
    fmt::print(stderr, "  install: {}\n", line);
  };
  const auto start = std::chrono::steady_clock::now();
  Result<corpus::AddResult> added = corpus::add_user_model(options);
  if (!added.ok()) {
    fmt::print(stderr, "mbcc add: {}\nnothing was written to {}\n", added.error().message(),
               args.store);
    return 1;
  }
  // What a large model costs, split between the producer and mbcc itself (its own peak RSS,
  // not its children's).
  const std::chrono::duration<double> total = std::chrono::steady_clock::now() - start;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  fmt::print(stderr,
             "  {:.1f} s: the producer's probe {:.1f} s, mbcc {:.1f} s; mbcc's peak memory {} MB\n",
             total.count(), added->producer_time.count(), (total - added->producer_time).count(),
             usage.ru_maxrss / 1024);
  if (s3) return publish_to_s3(args, *added, local);
  fmt::print("{}: {}{} in {}\n", added->key.to_string(),
             corpus::case_outcome_info(added->outcome).name,
             added->reason.empty() ? "" : " (" + added->reason + ")", args.store);
  return 0;
}

}  // namespace

void add_add(CLI::App& app, int& exit_code) {
  auto* add = app.add_subcommand(
      "add",
      "Make a bundle of your own saved model, with goldens computed on its producer release");
  auto args = std::make_shared<AddArgs>();
  add->add_option(
         "files", args->files,
         "NAME-symbol.json and NAME-NNNN.params (Module checkpoint or HybridBlock export), "
         "or a Gluon parameters file with --block")
      ->required();
  add->add_option("--name", args->name, "the model's name in the store")->required();
  add->add_option("--producer", args->producer,
                  "the release that wrote the files (default: the version the graph records)");
  add->add_option("--store", args->store, "the store: a folder or s3://bucket/prefix")
      ->capture_default_str();
  add->add_option("--input", args->inputs,
                  "NAME=SHAPE[:DTYPE], e.g. data=1,3,224,224 (repeatable; default: inferred)");
  add->add_option("--input-file", args->input_files,
                  "NAME=FILE: the input's values from a .npy, .npz or .params (repeatable)");
  add->add_option("--input-range", args->input_ranges,
                  "NAME=LOW:HIGH: integer values in [LOW, HIGH) (repeatable; default: an "
                  "Embedding's input_dim)");
  auto* block = add->add_option("--block", args->block,
                                "MODULE:CALLABLE that builds the Block of a Gluon parameters file");
  add->add_option("--python-path", args->python_path, "where MODULE is found (default: .)")
      ->needs(block);
  add->add_option("--kwargs", args->kwargs, "keyword arguments of CALLABLE, a JSON object")
      ->needs(block);
  add->add_flag("--force", args->force, "replace a bundle of that name that has other files");
  add_store_options(*add, args->store_args);
  add->callback([args, &exit_code] { exit_code = run_add(*args); });
}

}  // namespace mbcc::cli
