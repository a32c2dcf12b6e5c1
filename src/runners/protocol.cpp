#include "runners/protocol.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>

namespace mbcc::runners {
namespace {

struct StatusName {
  AnswerStatus status;
  std::string_view name;
};

constexpr std::array<StatusName, 5> kStatusNames{{
    {AnswerStatus::kOk, "ok"},
    {AnswerStatus::kUnsupported, "unsupported"},
    {AnswerStatus::kLoadFail, "load_fail"},
    {AnswerStatus::kRunFail, "run_fail"},
    {AnswerStatus::kError, "error"},
}};

constexpr bool status_names_in_order() {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (static_cast<std::size_t>(kStatusNames[i].status) != i) return false;
  }
  return true;
}
static_assert(status_names_in_order(), "kStatusNames must list every status, in enum order");

// A value as it appears in an error: short values whole, long ones cut.
std::string shown(const Json& value) {
  constexpr std::size_t kMax = 60;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMax) text = text.substr(0, kMax) + "…";
  return text;
}

// "$.outputs[0]" and "dtype" -> "$.outputs[0].dtype".
std::string member(const std::string& path, std::string_view key) {
  std::string out = path;
  out += '.';
  out += key;
  return out;
}

Error mismatch(std::string source, std::string path, const Json& found, std::string allowed) {
  Error e;
  e.source = std::move(source);
  e.location = std::move(path);
  e.found = shown(found);
  e.allowed = std::move(allowed);
  return e;
}

// Reads one line's members, checking each against what the protocol allows.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Error error(const std::string& path, const Json& found, std::string allowed) const {
    return mismatch(source_, path, found, std::move(allowed));
  }

  Status only(const Json& object, const std::string& path,
              std::initializer_list<std::string_view> known) const {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return error(member(path, key), value, "no such member");
      }
    }
    return Ok{};
  }

  Result<std::string> string(const Json& object, const std::string& path, const char* key,
                             bool required) const {
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) return error(member(path, key), Json(), "a string (required)");
      return std::string();
    }
    if (!it->is_string()) return error(member(path, key), *it, "a string");
    return it->get<std::string>();
  }

  Result<Failure> failure(const Json& value, const std::string& path) const {
    if (!value.is_object()) return error(path, value, "an object {kind, call, message}");
    MBCC_TRY(only(value, path, {"kind", "call", "message"}));
    auto kind = string(value, path, "kind", true);
    if (!kind) return kind.error();
    auto call = string(value, path, "call", false);
    if (!call) return call.error();
    auto message = string(value, path, "message", true);
    if (!message) return message.error();
    return Failure{std::move(kind).value(), std::move(call).value(), std::move(message).value()};
  }

  Result<WrittenTensor> tensor(const Json& value, const std::string& path, bool indexed) const {
    if (!value.is_object()) return error(path, value, "an object {name, file, shape, dtype}");
    MBCC_TRY(indexed ? only(value, path, {"index", "name", "file", "shape", "dtype"})
                     : only(value, path, {"name", "file", "shape", "dtype"}));
    WrittenTensor out;
    auto name = string(value, path, "name", true);
    if (!name) return name.error();
    out.name = std::move(name).value();
    auto file = string(value, path, "file", true);
    if (!file) return file.error();
    if (file->empty()) return error(path + ".file", *file, "a file path");
    out.file = *file;
    auto dtype_name = string(value, path, "dtype", true);
    if (!dtype_name) return dtype_name.error();
    auto dtype = dtype_from_name(*dtype_name);
    if (!dtype) return error(path + ".dtype", *dtype_name, "a dtype name such as float32");
    out.dtype = *dtype;
    auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array()) {
      return error(path + ".shape", shape == value.end() ? Json() : *shape,
                   "an array of sizes (required)");
    }
    for (std::size_t i = 0; i < shape->size(); ++i) {
      const Json& dim = (*shape)[i];
      if (!dim.is_number_unsigned()) {
        return error(path + ".shape[" + std::to_string(i) + "]", dim, "a size >= 0");
      }
      out.shape.push_back(dim.get<int64_t>());
    }
    if (indexed) {
      auto index = value.find("index");
      if (index == value.end() || !index->is_number_unsigned()) {
        return error(path + ".index", index == value.end() ? Json() : *index,
                     "a get_internals() position >= 0 (required)");
      }
      out.index = index->get<int64_t>();
    }
    return out;
  }

  Result<std::vector<WrittenTensor>> tensors(const Json& value, const std::string& path,
                                             bool indexed) const {
    if (!value.is_array()) return error(path, value, "an array of tensors");
    std::vector<WrittenTensor> out;
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto t = tensor(value[i], path + "[" + std::to_string(i) + "]", indexed);
      if (!t) return t.error();
      out.push_back(std::move(t).value());
    }
    return out;
  }

  Result<double> milliseconds(const Json& object, const std::string& path, const char* key) const {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number() || it->get<double>() < 0) {
      return error(member(path, key), it == object.end() ? Json() : *it,
                   "milliseconds >= 0 (required)");
    }
    return it->get<double>();
  }

 private:
  std::string source_;
};

Json failure_json(const Failure& failure) {
  Json out = {{"kind", failure.kind}, {"message", failure.message}};
  if (!failure.call.empty()) out["call"] = failure.call;
  return out;
}

Json tensors_json(const std::vector<WrittenTensor>& tensors) {
  Json out = Json::array();
  for (const WrittenTensor& t : tensors) {
    Json tensor = {{"name", t.name},
                   {"file", t.file.string()},
                   {"shape", t.shape},
                   {"dtype", dtype_info(t.dtype).name}};
    if (t.index) tensor["index"] = *t.index;
    out.push_back(std::move(tensor));
  }
  return out;
}

Json parse_object(std::string_view line) {
  return Json::parse(line, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

std::string request_line(const Request& request, uint64_t id) {
  Json inputs = Json::array();
  for (const InputFile& input : request.inputs) {
    inputs.push_back({{"name", input.name}, {"file", input.file.string()}});
  }
  Json line = {{"id", id},
               {"bundle_dir", request.bundle_dir.string()},
               {"load_api", request.load_api},
               {"inputs", std::move(inputs)},
               {"out_dir", request.out_dir.string()},
               {"internals", request.internals}};
  if (!request.symbol_file.empty()) line["symbol_file"] = request.symbol_file.string();
  if (!request.params_file.empty()) line["params_file"] = request.params_file.string();
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string answer_line(const Answer& answer, uint64_t id) {
  Json line = {
      {"id", id},
      {"status", answer_status_name(answer.status)},
      {"outputs", tensors_json(answer.outputs)},
      {"timings", {{"load_ms", answer.timings.load_ms}, {"run_ms", answer.timings.run_ms}}}};
  if (!answer.internals.empty()) line["internals"] = tensors_json(answer.internals);
  if (answer.error) line["error"] = failure_json(*answer.error);
  if (answer.internals_error) line["internals_error"] = failure_json(*answer.internals_error);
  if (!answer.warnings.empty()) line["warnings"] = answer.warnings;
  return line.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string_view answer_status_name(AnswerStatus status) {
  return kStatusNames[static_cast<std::size_t>(status)].name;
}

Result<Answer> parse_answer(std::string_view line, uint64_t id) {
  const Reader reader("answer");
  const Json doc = parse_object(line);
  if (doc.is_discarded()) return Error::plain("answer", "not a line of JSON");
  if (!doc.is_object()) return reader.error("$", doc, "a JSON object");
  MBCC_TRY(reader.only(
      doc, "$",
      {"id", "status", "outputs", "internals", "internals_error", "error", "warnings", "timings"}));

  auto found_id = doc.find("id");
  if (found_id == doc.end() || !found_id->is_number_unsigned() || found_id->get<uint64_t>() != id) {
    return reader.error("$.id", found_id == doc.end() ? Json() : *found_id, std::to_string(id));
  }

  Answer answer;
  auto status = reader.string(doc, "$", "status", true);
  if (!status) return status.error();
  auto named = std::find_if(kStatusNames.begin(), kStatusNames.end(),
                            [&](const StatusName& s) { return s.name == *status; });
  if (named == kStatusNames.end()) {
    return reader.error("$.status", *status, "ok, unsupported, load_fail, run_fail or error");
  }
  answer.status = named->status;

  auto outputs = doc.find("outputs");
  if (outputs == doc.end()) return reader.error("$.outputs", Json(), "an array (required)");
  auto written = reader.tensors(*outputs, "$.outputs", false);
  if (!written) return written.error();
  answer.outputs = std::move(written).value();

  if (auto internals = doc.find("internals"); internals != doc.end()) {
    auto tensors = reader.tensors(*internals, "$.internals", true);
    if (!tensors) return tensors.error();
    answer.internals = std::move(tensors).value();
  }

  auto error = doc.find("error");
  const bool ok = answer.status == AnswerStatus::kOk;
  if (ok && error != doc.end()) return reader.error("$.error", *error, "none when status is ok");
  if (!ok && error == doc.end()) {
    return reader.error("$.error", Json(), "an object {kind, message} when status is not ok");
  }
  if (!ok) {
    auto failure = reader.failure(*error, "$.error");
    if (!failure) return failure.error();
    answer.error = std::move(failure).value();
  }
  if (auto internals_error = doc.find("internals_error"); internals_error != doc.end()) {
    auto failure = reader.failure(*internals_error, "$.internals_error");
    if (!failure) return failure.error();
    answer.internals_error = std::move(failure).value();
  }

  if (auto warnings = doc.find("warnings"); warnings != doc.end()) {
    if (!warnings->is_array()) return reader.error("$.warnings", *warnings, "an array of strings");
    for (std::size_t i = 0; i < warnings->size(); ++i) {
      const Json& warning = (*warnings)[i];
      if (!warning.is_string()) {
        return reader.error("$.warnings[" + std::to_string(i) + "]", warning, "a string");
      }
      answer.warnings.push_back(warning.get<std::string>());
    }
  }

  auto timings = doc.find("timings");
  if (timings == doc.end() || !timings->is_object()) {
    return reader.error("$.timings", timings == doc.end() ? Json() : *timings,
                        "an object {load_ms, run_ms} (required)");
  }
  MBCC_TRY(reader.only(*timings, "$.timings", {"load_ms", "run_ms"}));
  auto load_ms = reader.milliseconds(*timings, "$.timings", "load_ms");
  if (!load_ms) return load_ms.error();
  auto run_ms = reader.milliseconds(*timings, "$.timings", "run_ms");
  if (!run_ms) return run_ms.error();
  answer.timings = {*load_ms, *run_ms};
  return answer;
}

Result<Hello> parse_hello(std::string_view line) {
  const Reader reader("hello");
  Hello hello;
  hello.document = parse_object(line);
  const Json& doc = hello.document;
  if (doc.is_discarded()) return Error::plain("hello", "not a line of JSON");
  if (!doc.is_object()) return reader.error("$", doc, "a JSON object");
  auto kind = doc.find("hello");
  if (kind == doc.end() || !kind->is_string()) {
    return reader.error("$.hello", kind == doc.end() ? Json() : *kind,
                        "the worker's kind, a string (required)");
  }
  if (auto error = doc.find("error"); error != doc.end()) {
    auto refusal = reader.failure(*error, "$.error");
    if (!refusal) return refusal.error();
    hello.refusal = std::move(refusal).value();
  }
  return hello;
}

}  // namespace mbcc::runners
