#include "check/schema_explanation.hpp"

#include <optional>
#include <regex>
#include <vector>

#include "registry/explain.hpp"

namespace mbcc {
namespace {

constexpr std::size_t kMostOps = 3;  // more candidates than this explain nothing

bool explainable(const CheckResult& check) {
  if (!check.message || check.message->kind.subject.empty()) return false;
  const MessageKind kind = check.message->kind.kind;
  return kind == MessageKind::kMissingOperator || kind == MessageKind::kOperatorArgument;
}

// The op an argument refusal names: dmlc's parser error ends with ", in operator Pooling(".
std::string refusing_op(const std::string& text) {
  static const std::regex kOperator(R"(in operator ([A-Za-z0-9_]+)\()");
  std::smatch match;
  return std::regex_search(text, match, kOperator) ? match[1].str() : "";
}

}  // namespace

void explain_refusals(const std::filesystem::path& registry_dir, std::span<CheckResult> checks) {
  std::optional<std::vector<registry::Registry>> history;
  for (CheckResult& check : checks) {
    if (!explainable(check)) continue;
    if (!history) {
      auto read = registry::read_history(registry_dir);
      if (!read || read->empty()) return;
      history = std::move(read).value();
    }
    CandidateMessage& message = *check.message;
    if (message.kind.kind == MessageKind::kMissingOperator) {
      message.explanation =
          registry::explain_operator(*history, message.kind.subject, check.key.candidate);
    } else if (const std::string op = refusing_op(message.text); !op.empty()) {
      message.explanation =
          registry::explain_argument(*history, op, message.kind.subject, check.key.candidate);
    } else {  // the message does not name the op: every op it can be about, if few
      const std::vector<std::string> ops =
          registry::ops_lacking_argument(*history, message.kind.subject, check.key.candidate);
      for (std::size_t i = 0; i < ops.size() && ops.size() <= kMostOps; ++i) {
        message.explanation +=
            (i == 0 ? "" : " or ") +
            registry::explain_argument(*history, ops[i], message.kind.subject, check.key.candidate);
      }
    }
  }
}

}  // namespace mbcc
