#include "registry/explain.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "envs/envs.hpp"
#include "registry/dump.hpp"

namespace mbcc::registry {
namespace {

// "1.5.0–1.9.1, 2.0.0b1": the releases that have it, consecutive ones joined.
std::string ranges(const std::vector<Registry>& history,
                   const std::function<bool(const Registry&)>& has) {
  std::string text;
  for (std::size_t i = 0; i < history.size();) {
    if (!has(history[i])) {
      ++i;
      continue;
    }
    std::size_t last = i;
    while (last + 1 < history.size() && has(history[last + 1])) ++last;
    text += (text.empty() ? "" : ", ") + history[i].release;
    if (last > i) text += "–" + history[last].release;
    i = last + 1;
  }
  return text;
}

bool known(const std::vector<Registry>& history, std::string_view candidate) {
  return std::any_of(history.begin(), history.end(),
                     [&](const Registry& r) { return r.release == candidate; });
}

std::string sentence(const std::string& what, const std::string& where, std::string_view candidate,
                     const std::vector<Registry>& history) {
  if (where.empty()) {
    return what + ": no release from " + history.front().release + " to " + history.back().release +
           " has it";
  }
  return what + " in " + where + "; " + std::string(candidate) + " does not have it";
}

}  // namespace

Result<std::vector<Registry>> read_history(const std::filesystem::path& dir) {
  auto dumped = dumped_releases(dir);
  if (!dumped) return dumped.error();
  std::vector<Registry> history;
  for (const envs::ReleaseQuirks& row : envs::release_table()) {
    if (std::find(dumped->begin(), dumped->end(), row.release) == dumped->end()) continue;
    auto registry = read_dump(dir, row.release);
    if (!registry) return registry.error();
    history.push_back(std::move(registry).value());
  }
  return history;
}

std::string explain_operator(const std::vector<Registry>& history, std::string_view op,
                             std::string_view candidate) {
  if (!known(history, candidate)) return "";
  const std::string where =
      ranges(history, [&](const Registry& r) { return r.find(op) != nullptr; });
  return sentence("`" + std::string(op) + "`: an operator", where, candidate, history);
}

std::string explain_argument(const std::vector<Registry>& history, std::string_view op,
                             std::string_view argument, std::string_view candidate) {
  if (!known(history, candidate)) return "";
  const std::string where = ranges(history, [&](const Registry& r) {
    const Op* found = r.find(op);
    return found != nullptr && found->find_accepted(argument) != nullptr;
  });
  return sentence("`" + std::string(argument) + "`: an argument of " + std::string(op), where,
                  candidate, history);
}

std::vector<std::string> ops_lacking_argument(const std::vector<Registry>& history,
                                              std::string_view argument,
                                              std::string_view candidate) {
  const auto in_candidate = std::find_if(history.begin(), history.end(),
                                         [&](const Registry& r) { return r.release == candidate; });
  if (in_candidate == history.end()) return {};
  std::set<std::string> ops;
  for (const Registry& registry : history) {
    for (const auto& [name, op] : registry.ops) {
      // Graph files never hold backward ops.
      if (name.starts_with("_backward_") || op.find_accepted(argument) == nullptr) continue;
      const Op* there = in_candidate->find(name);
      if (there == nullptr || there->find_accepted(argument) == nullptr) ops.insert(name);
    }
  }
  return {ops.begin(), ops.end()};
}

}  // namespace mbcc::registry
