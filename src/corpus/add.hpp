// mbcc add: a team's own saved model made a bundle of the store. mbcc recognises the files with
// its own readers (graph + parameters, or a Gluon parameters file with the code of its Block),
// picks the producer release from the graph's recorded version, plans the inputs (the graph's
// variables the parameters do not hold, their dtype, shape and value range), then the probe runs
// the files on the producer release for the goldens (python/mbcc_probe/user.py), and the bundle
// is published as generate publishes: manifest last, validated, moved in one rename.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "corpus/generate.hpp"
#include "corpus/layout.hpp"
#include "corpus/manifest.hpp"
#include "formats/symbol_json.hpp"

namespace mbcc::corpus {

// --input NAME=SHAPE[:DTYPE] (SHAPE "1,3,224,224"; either part may be left out: "x=:int32").
struct InputOption {
  std::string name;
  std::optional<Shape> shape;
  std::optional<DType> dtype;
};
Result<InputOption> parse_input_option(std::string_view text);

// --input-range NAME=LOW:HIGH: integers in [LOW, HIGH).
struct RangeOption {
  std::string name;
  int64_t low = 0;
  int64_t high = 0;
};
Result<RangeOption> parse_range_option(std::string_view text);

// --input-file NAME=FILE
struct InputFileOption {
  std::string name;
  std::filesystem::path file;
};
Result<InputFileOption> parse_input_file_option(std::string_view text);

// --block MODULE:CALLABLE [--python-path DIR] [--kwargs JSON]
struct BlockOption {
  std::string callable;
  std::filesystem::path python_path;
  std::string kwargs = "{}";
};

// One of the user's files as mbcc's readers see it.
struct UserFile {
  std::filesystem::path path;
  FileRole role = FileRole::kParams;
  std::string kind;  // what it is, for the manifest: "symbol JSON (nnvm, 1.0+ attrs)", …
};

// The user's files, recognised: which save API wrote them, the graph and the parameters' shapes.
struct UserModel {
  std::vector<UserFile> files;
  // module-checkpoint, gluon-export, gluon-save-parameters or gluon-block-save
  std::string save_api;
  std::optional<SymbolFile> graph;
  std::filesystem::path graph_file;
  std::filesystem::path params_file;
  std::filesystem::path model_json;                   // Block.save's NAME-model.json, or empty
  std::vector<std::pair<std::string, Shape>> params;  // names without arg:/aux:, file order
  bool np_mode = false;
};

// Reads every file; the error names the file and what it is instead. With `block`, a lone
// parameters file is a Gluon Block's.
Result<UserModel> recognise_user_files(const std::vector<std::filesystem::path>& files, bool block);

// The release that wrote the model: `given`, else the one whose version number the graph
// records. `producer_from` says which, for the manifest.
struct ProducerChoice {
  std::string release;
  std::string producer_from;
};
Result<ProducerChoice> choose_producer(const UserModel& model, std::string_view given);

// What the probe is told of one input.
struct InputPlan {
  std::string name;
  std::optional<Shape> shape;  // nullopt: the probe infers it with the release's infer_shape
  DType dtype = DType::kFloat32;
  std::string kind = "float";                        // float, tokens, label (manifest.hpp)
  std::optional<std::pair<int64_t, int64_t>> range;  // integers in [low, high)
  std::filesystem::path file;                        // --input-file, or empty
  std::string member;                                // the array of `file` to take
  std::string consumer;  // "node fc1 (FullyConnected)": what needs it, for errors
};

struct InputOptions {
  std::vector<InputOption> inputs;
  std::vector<RangeOption> ranges;
  std::vector<InputFileOption> files;
};

// The graph's inputs (its arguments the parameters do not hold, in MXNet's argument order), or
// for a Block the inputs the options name, in their order. Errors: a parameter of the graph
// without an array, an array of no variable, an option naming no input, an integer input with
// no range, a file without the array.
Result<std::vector<InputPlan>> plan_inputs(const UserModel& model, const InputOptions& options);

struct AddOptions {
  std::vector<std::filesystem::path> files;
  std::string name;
  std::string producer;  // empty: from the graph
  std::filesystem::path store;
  InputOptions inputs;
  std::optional<BlockOption> block;
  bool force = false;
  int64_t seed = 7;
  std::vector<std::string> command;  // the command line, for the manifest
  std::filesystem::path python_dir;  // the folder holding mbcc_probe
  envs::Options env_options;
  std::function<void(std::string_view)> progress;
};

struct AddResult {
  BundleKey key;
  CaseOutcome outcome = CaseOutcome::kWritten;  // written, unchanged or replaced
  std::string reason;
  std::chrono::duration<double> producer_time{};  // the probe on the producer: load, forward, …
};

// Makes the bundle; any error leaves the store as it was (bar a hidden work folder that a kill
// may leave and the next run deletes).
Result<AddResult> add_user_model(const AddOptions& options);

}  // namespace mbcc::corpus
