#include "capi/worker.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "capi/load_paths.hpp"
#include "formats/npy.hpp"

namespace mbcc::capi {
namespace {

namespace fs = std::filesystem;

std::string safe_file_name(const std::string& name) {
  std::string safe = name.substr(0, 80);
  for (char& c : safe) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    if (!keep) c = '_';
  }
  return safe;
}

// Files: out_dir/output_<i>.npy like the bundle's goldens, and out_dir/internals/<index>_<name>.npy
// like the probe's internals (index zero-padded to the width of the get_internals() count).
Status write_outputs(const fs::path& out_dir, const PathRun& run, Answer& answer) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Error::plain(out_dir.string(), "cannot create the output folder: " + ec.message());
  for (std::size_t i = 0; i < run.outputs.size(); ++i) {
    const NamedTensor& output = run.outputs[i];
    const fs::path file = out_dir / ("output_" + std::to_string(i) + ".npy");
    MBCC_TRY(write_npy(file, output.tensor));
    answer.outputs.push_back({output.name, file, output.tensor.shape(), output.tensor.dtype()});
  }
  if (run.internals.empty()) return Ok{};
  const fs::path dir = out_dir / "internals";
  fs::create_directories(dir, ec);
  if (ec) return Error::plain(dir.string(), "cannot create the internals folder: " + ec.message());
  const std::size_t width = std::max<std::size_t>(3, std::to_string(run.internals_count).size());
  for (const NamedTensor& internal : run.internals) {
    std::string index = std::to_string(internal.index);
    index.insert(0, width - std::min(width, index.size()), '0');
    const fs::path file = dir / (index + "_" + safe_file_name(internal.name) + ".npy");
    MBCC_TRY(write_npy(file, internal.tensor));
    answer.internals.push_back(
        {internal.name, file, internal.tensor.shape(), internal.tensor.dtype(), internal.index});
  }
  return Ok{};
}

Answer failure_answer(Answer answer, AnswerStatus status, Failure failure) {
  answer.status = status;
  answer.error = std::move(failure);
  return answer;
}

}  // namespace

Json hello(const Library& library) {
  Json functions = Json::object();
  auto support = [&](const std::vector<std::string_view>& needed) {
    const std::string_view missing = library.first_missing(needed);
    if (missing.empty()) return Json{{"supported", true}};
    return Json{{"supported", false},
                {"reason", "this libmxnet.so does not export " + std::string(missing)}};
  };
  for (LoadApi api : kLoadApis) {
    functions[std::string(load_api_name(api))] = support(required_functions(library.plan(), api));
  }
  functions["internals"] = support(internals_functions());
  return {{"hello", "mbcc-capi-worker"},
          {"protocol", 1},
          {"library", library.path().string()},
          {"mxnet_version", library.version()},
          {"version_reported", library.version_reported()},
          {"abi", abi_generation(library.plan())},
          {"functions", std::move(functions)}};
}

Answer serve(const Library& library, const Request& request) {
  Answer answer;
  answer.id = request.id;
  const std::string_view missing =
      library.first_missing(required_functions(library.plan(), request.load_api));
  if (!missing.empty()) {
    return failure_answer(std::move(answer), AnswerStatus::kUnsupported,
                          {"missing_function", std::string(missing),
                           "this libmxnet.so (MXGetVersion " + std::to_string(library.version()) +
                               ") does not export " + std::string(missing) + ", which " +
                               std::string(load_api_name(request.load_api)) + " needs"});
  }

  std::vector<NamedTensor> inputs;
  for (const InputFile& input : request.inputs) {
    auto tensor = read_npy(input.file);
    if (!tensor) {
      return failure_answer(std::move(answer), AnswerStatus::kError,
                            to_failure("input", tensor.error()));
    }
    if (request.load_api == LoadApi::kPredict && tensor->dtype() != DType::kFloat32) {
      return failure_answer(std::move(answer), AnswerStatus::kUnsupported,
                            {"dtype", "MXPredSetInput",
                             "the predict API takes float32 inputs only; input '" + input.name +
                                 "' is " + std::string(dtype_info(tensor->dtype()).name)});
    }
    inputs.push_back({input.name, std::move(tensor).value()});
  }

  const PathRun run = run_load_api(library, request, inputs);
  answer.load_ms = run.load_ms;
  answer.run_ms = run.run_ms;
  answer.warnings = run.warnings;
  if (run.failure) {
    return failure_answer(std::move(answer), run.failure->first, run.failure->second);
  }
  answer.internals_error = run.internals_error;
  if (auto written = write_outputs(request.out_dir, run, answer); !written) {
    answer.outputs.clear();
    answer.internals.clear();
    return failure_answer(std::move(answer), AnswerStatus::kError,
                          to_failure("write_output", written.error()));
  }
  return answer;
}

namespace {

Json registry_error(Json id, const Error& error) {
  return Json{{"id", std::move(id)},
              {"status", "error"},
              {"error", {{"call", error.field}, {"message", error.message()}}}};
}

Json registry_ops(const Library& library, Json id) {
  auto names = library.op_names();
  if (!names) return registry_error(std::move(id), names.error());
  Json ops = Json::array();
  for (const std::string& name : *names) {
    auto info = library.op_info(name);
    if (!info) return registry_error(std::move(id), info.error());
    Json args = Json::array();
    for (std::size_t i = 0; i < info->arg_names.size(); ++i) {
      args.push_back(Json::array({info->arg_names[i], info->arg_types[i]}));
    }
    ops.push_back({{"name", name},
                   {"real_name", info->real_name},
                   {"key_var_num_args", info->key_var_num_args},
                   {"args", std::move(args)}});
  }
  return Json{{"id", std::move(id)},
              {"status", "ok"},
              {"version", library.version()},
              {"ops", std::move(ops)}};
}

}  // namespace

std::optional<Json> serve_registry(const Library& library, std::string_view line) {
  Json request = Json::parse(line, nullptr, false);
  if (!request.is_object() || !request.contains("registry")) return std::nullopt;
  Json id = request.value("id", Json());
  const Json& what = request["registry"];
  if (what == "ops") return registry_ops(library, std::move(id));
  if (what == "probe" && request.value("op", Json()).is_string() &&
      request.value("key", Json()).is_string() && request.value("value", Json()).is_string()) {
    auto probe =
        library.probe_parser(request["op"].get<std::string>(), request["key"].get<std::string>(),
                             request["value"].get<std::string>());
    if (!probe) return registry_error(std::move(id), probe.error());
    return Json{{"id", std::move(id)},
                {"status", "ok"},
                {"accepted", probe->accepted},
                {"message", probe->message}};
  }
  return registry_error(std::move(id), Error::plain("request",
                                                    "a registry request is \"ops\" or \"probe\" "
                                                    "with string op, key and value"));
}

}  // namespace mbcc::capi
