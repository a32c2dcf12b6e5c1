#include "capi/protocol.hpp"

#include <cmath>

namespace mbcc::capi {
namespace {

using json = Json;

Error request_error(std::string field, std::string allowed) {
  Error e;
  e.source = "request";
  e.field = std::move(field);
  e.allowed = std::move(allowed);
  return e;
}

Result<std::string> string_field(const json& object, const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return request_error(key, "a string (required)");
    return std::string();
  }
  if (!it->is_string()) return request_error(key, "a string");
  return it->get<std::string>();
}

std::filesystem::path under(const std::filesystem::path& dir, const std::string& file) {
  std::filesystem::path path(file);
  return path.is_absolute() || dir.empty() ? path : dir / path;
}

json failure_json(const Failure& failure) {
  return {{"kind", failure.kind}, {"call", failure.call}, {"message", failure.message}};
}

json tensor_json(const WrittenTensor& tensor) {
  json out = {{"name", tensor.name},
              {"file", tensor.file.string()},
              {"shape", tensor.shape},
              {"dtype", dtype_info(tensor.dtype).name}};
  if (tensor.index >= 0) out["index"] = tensor.index;
  return out;
}

double milliseconds(double ms) { return std::round(ms * 1000.0) / 1000.0; }

}  // namespace

Result<Request> parse_request(std::string_view line, Json* id) {
  json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return request_error("line", "one JSON object");
  if (!object.is_object()) return request_error("line", "a JSON object");
  Request request;
  request.id = object.value("id", json());
  *id = request.id;

  auto bundle_dir = string_field(object, "bundle_dir", false);
  if (!bundle_dir) return bundle_dir.error();
  auto symbol_file = string_field(object, "symbol_file", true);
  if (!symbol_file) return symbol_file.error();
  auto params_file = string_field(object, "params_file", true);
  if (!params_file) return params_file.error();
  auto out_dir = string_field(object, "out_dir", true);
  if (!out_dir) return out_dir.error();
  auto load_api = string_field(object, "load_api", true);
  if (!load_api) return load_api.error();
  const std::filesystem::path dir(*bundle_dir);
  request.symbol_file = under(dir, *symbol_file);
  request.params_file = under(dir, *params_file);
  request.out_dir = *out_dir;
  auto api = load_api_from_name(*load_api);
  if (!api) {
    Error e = request_error("load_api", "c-predict, c-executor or c-cachedop");
    e.found = *load_api;
    return e;
  }
  request.load_api = *api;

  auto internals = object.find("internals");
  if (internals != object.end() && !internals->is_null()) {
    if (!internals->is_boolean()) return request_error("internals", "true or false");
    request.internals = internals->get<bool>();
  }

  auto inputs = object.find("inputs");
  if (inputs == object.end() || !inputs->is_array()) {
    return request_error("inputs", "an array of {name, file}");
  }
  for (const json& input : *inputs) {
    if (!input.is_object()) return request_error("inputs[]", "an object {name, file}");
    auto name = string_field(input, "name", true);
    if (!name) return name.error();
    auto file = string_field(input, "file", true);
    if (!file) return file.error();
    request.inputs.push_back({*name, under(dir, *file)});
  }
  return request;
}

std::string_view status_name(AnswerStatus status) {
  switch (status) {
    case AnswerStatus::kOk:
      return "ok";
    case AnswerStatus::kUnsupported:
      return "unsupported";
    case AnswerStatus::kLoadFail:
      return "load_fail";
    case AnswerStatus::kRunFail:
      return "run_fail";
    case AnswerStatus::kError:
      return "error";
  }
  return "error";
}

std::string answer_line(const Answer& answer) {
  json out = {{"id", answer.id}, {"status", status_name(answer.status)}};
  json outputs = json::array();
  for (const WrittenTensor& tensor : answer.outputs) outputs.push_back(tensor_json(tensor));
  out["outputs"] = std::move(outputs);
  if (!answer.internals.empty()) {
    json internals = json::array();
    for (const WrittenTensor& tensor : answer.internals) internals.push_back(tensor_json(tensor));
    out["internals"] = std::move(internals);
  }
  if (answer.internals_error) out["internals_error"] = failure_json(*answer.internals_error);
  if (answer.error) out["error"] = failure_json(*answer.error);
  if (!answer.warnings.empty()) out["warnings"] = answer.warnings;
  out["timings"] = {{"load_ms", milliseconds(answer.load_ms)},
                    {"run_ms", milliseconds(answer.run_ms)}};
  // Replace, not throw, on invalid UTF-8: MXNet's messages can quote raw file bytes.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mbcc::capi
