#include "check/schema_explanation.hpp"

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <tuple>
#include <utility>

#include "corpus/bundle.hpp"
#include "formats/symbol_json.hpp"
#include "registry/diff.hpp"
#include "registry/explain.hpp"
#include "registry/scan.hpp"

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

const registry::Registry* release_in(const std::vector<registry::Registry>& history,
                                     std::string_view release) {
  auto it = std::find_if(history.begin(), history.end(),
                         [&](const registry::Registry& r) { return r.release == release; });
  return it == history.end() ? nullptr : &*it;
}

// The graph the bundle's internals were computed from, the one that names the diverging node.
std::optional<SymbolFile> internals_graph(const PlannedBundle& bundle) {
  if (!bundle.manifest) return std::nullopt;
  const corpus::BundleFile* file = bundle.manifest->find_file(bundle.manifest->internals.symbol);
  if (file == nullptr || file->role != corpus::FileRole::kSymbol) return std::nullopt;
  auto bytes = corpus::read_bundle_file(bundle.dir, *file);
  if (!bytes) return std::nullopt;
  auto graph = parse_symbol_json(
      {reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size}, file->path);
  if (!graph) return std::nullopt;
  return std::move(graph).value();
}

}  // namespace

const std::vector<registry::Registry>* RegistryHistory::get() {
  if (!read_) {
    read_ = true;
    auto read = registry::read_history(dir_);
    if (read && !read->empty()) history_ = std::move(read).value();
  }
  return history_ ? &*history_ : nullptr;
}

void explain_refusals(RegistryHistory& registries, std::span<CheckResult> checks) {
  // The explanation depends on the refusal and the candidate only, which thousands of checks of
  // a matrix share: each is worked out once.
  using Refusal = std::tuple<MessageKind, std::string, std::string, std::string>;
  std::map<Refusal, std::string> explained;
  for (CheckResult& check : checks) {
    if (!explainable(check)) continue;
    const std::vector<registry::Registry>* history = registries.get();
    if (history == nullptr) return;
    CandidateMessage& message = *check.message;
    const std::string op =
        message.kind.kind == MessageKind::kMissingOperator ? "" : refusing_op(message.text);
    const Refusal refusal{message.kind.kind, message.kind.subject, op, check.key.candidate};
    if (auto known = explained.find(refusal); known != explained.end()) {
      message.explanation = known->second;
      continue;
    }
    if (message.kind.kind == MessageKind::kMissingOperator) {
      message.explanation =
          registry::explain_operator(*history, message.kind.subject, check.key.candidate);
    } else if (!op.empty()) {
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
    explained.emplace(refusal, message.explanation);
  }
}

void explain_drifts(RegistryHistory& registries, const Plan& plan, std::span<CheckResult> checks) {
  std::map<std::pair<std::string, std::string>, registry::Diff> diffs;
  for (std::size_t i = 0; i < checks.size() && i < plan.checks.size(); ++i) {
    CheckResult& check = checks[i];
    if (!check.first_divergence) continue;
    const std::vector<registry::Registry>* history = registries.get();
    if (history == nullptr) return;
    const registry::Registry* producer = release_in(*history, check.key.producer);
    const registry::Registry* candidate = release_in(*history, check.key.candidate);
    if (producer == nullptr || candidate == nullptr) continue;
    std::optional<SymbolFile> graph = internals_graph(plan.bundles[plan.checks[i].bundle]);
    if (!graph) continue;
    auto diff = diffs.find({producer->release, candidate->release});
    if (diff == diffs.end()) {
      diff = diffs
                 .emplace(std::make_pair(producer->release, candidate->release),
                          registry::diff_registries(*producer, *candidate))
                 .first;
    }
    DivergingNode& node = *check.first_divergence;
    for (const registry::Finding& finding :
         registry::scan_graph(*graph, {candidate, producer, &diff->second})) {
      if (finding.kind != registry::FindingKind::kDefaultChanged || finding.node != node.node) {
        continue;
      }
      node.explanation += (node.explanation.empty() ? "relies on a changed default: " : "; ") +
                          finding.op + "." + finding.attribute + " " + finding.detail;
    }
  }
}

}  // namespace mbcc
