#include "check/message.hpp"

#include <algorithm>
#include <array>
#include <regex>

namespace mbcc {
namespace {

constexpr std::array<std::string_view, 8> kKindNames = {
    "missing_operator", "operator_argument", "parameter_name_mismatch", "np_shape",
    "file_format",      "shape_inference",   "duplicate_name",          "other"};
static_assert(static_cast<std::size_t>(MessageKind::kOther) + 1 == kKindNames.size());

// Checked in order, first match wins: the more specific wording comes first, so "Failed loading
// Op … : Cannot find argument" is an argument problem, not a missing operator.
struct Rule {
  MessageKind kind;
  std::string_view needle;
  std::string_view subject;  // a regex whose first group is the subject; empty when none
};
constexpr std::array<Rule, 15> kRules{{
    {MessageKind::kMissingOperator, "is not registered", R"(Operator (\S+) is not registered)"},
    {MessageKind::kOperatorArgument, "Cannot find argument", R"(Cannot find argument '([^']*)')"},
    {MessageKind::kOperatorArgument, "Invalid Parameter format", R"(format for (\w+))"},
    {MessageKind::kMissingOperator, "Failed loading Op", R"(Failed loading Op \S+ of type (\w+))"},
    {MessageKind::kParameterNameMismatch, "is missing in file",
     R"(Parameter '([^']*)' is missing)"},
    // 2.0 words it "… is missing in 'file: net.params', which contains …"
    {MessageKind::kParameterNameMismatch,
     "is missing in 'file: ", R"(Parameter '([^']*)' is missing)"},
    {MessageKind::kParameterNameMismatch, "is not present in ParameterDict",
     R"(Parameter '([^']*)' loaded from)"},
    {MessageKind::kNpShape, "np shape semantics", ""},
    {MessageKind::kNpShape, "is_np_shape", ""},
    {MessageKind::kFileFormat, "Invalid NDArray file format", ""},
    {MessageKind::kFileFormat, "kMXAPINDArrayListMagic", ""},
    {MessageKind::kShapeInference, "InferShape", ""},
    {MessageKind::kShapeInference, "hape inconsistent", ""},
    {MessageKind::kShapeInference, "i < ndim()", ""},
    {MessageKind::kDuplicateName, "multiple outputs with name",
     R"(multiple outputs with name \"?([^\"\s]+))"},
}};

}  // namespace

std::string_view message_kind_name(MessageKind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

std::optional<MessageKind> message_kind_from_name(std::string_view name) {
  auto it = std::find(kKindNames.begin(), kKindNames.end(), name);
  if (it == kKindNames.end()) return std::nullopt;
  return static_cast<MessageKind>(it - kKindNames.begin());
}

MessageClass classify_message(std::string_view message) {
  for (const Rule& rule : kRules) {
    if (message.find(rule.needle) == std::string_view::npos) continue;
    MessageClass out{rule.kind, {}};
    if (!rule.subject.empty()) {
      std::match_results<std::string_view::const_iterator> match;
      if (std::regex_search(message.begin(), message.end(), match,
                            std::regex(rule.subject.begin(), rule.subject.end()))) {
        out.subject = match[1].str();
      }
    }
    return out;
  }
  return {};
}

}  // namespace mbcc
