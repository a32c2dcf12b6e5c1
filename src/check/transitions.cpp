#include "check/transitions.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include "base/release_version.hpp"

namespace mbcc {

std::vector<std::string> candidates_in_release_order(const RunInfo& run) {
  auto release = [&run](std::size_t i) {
    return i < run.candidate_releases.size() && !run.candidate_releases[i].empty()
               ? run.candidate_releases[i]
               : std::string();
  };
  std::vector<std::size_t> order(run.candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const std::string ra = release(a);
    const std::string rb = release(b);
    if (ra.empty() || rb.empty()) return !ra.empty() && rb.empty();
    return release_name_less(ra, rb);
  });
  std::vector<std::string> names;
  for (std::size_t i : order) names.push_back(run.candidates[i]);
  return names;
}

std::vector<Transition> find_transitions(const RunResult& result) {
  const std::vector<std::string> order = candidates_in_release_order(result.run);
  std::map<std::string, std::size_t> rank;
  for (std::size_t i = 0; i < order.size(); ++i) rank.emplace(order[i], i);

  // each case and load API's checks, in candidate order
  using Case = std::tuple<std::string, std::string, std::string, std::string>;
  auto case_less = [](const Case& a, const Case& b) {
    if (std::get<0>(a) != std::get<0>(b)) return release_name_less(std::get<0>(a), std::get<0>(b));
    return a < b;
  };
  std::map<Case, std::vector<const CheckResult*>, decltype(case_less)> series(case_less);
  for (const CheckResult& check : result.checks) {
    // a corrupt bundle or a filtered check says nothing of the candidate
    if (check.direction == Direction::kForward || !rank.contains(check.key.candidate) ||
        check.raw_verdict == Verdict::kArtifactCorrupt || check.raw_verdict == Verdict::kSkipped) {
      continue;
    }
    series[{check.key.producer, check.key.model, check.key.save_api, check.key.load_api}].push_back(
        &check);
  }
  std::vector<Transition> transitions;
  for (auto& [key, checks] : series) {
    std::stable_sort(checks.begin(), checks.end(), [&rank](const auto* a, const auto* b) {
      return rank.at(a->key.candidate) < rank.at(b->key.candidate);
    });
    for (std::size_t i = 1; i < checks.size(); ++i) {
      const CheckResult& before = *checks[i - 1];
      const CheckResult& after = *checks[i];
      const bool passed = before.raw_verdict == Verdict::kPass;
      if (passed == (after.raw_verdict == Verdict::kPass)) continue;
      transitions.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key),
                             before.key.candidate, after.key.candidate, before.raw_verdict,
                             after.raw_verdict});
    }
  }
  return transitions;
}

}  // namespace mbcc
