// A candidate's refusal explained by the registries of every release: which releases have the
// operator or argument it named ("`use_sequence_length`: an argument of RNN in 1.5.0–2.0.0b1;
// 1.4.1 does not have it"), for mbcc check's LOAD_FAIL messages.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "registry/schema.hpp"

namespace mbcc::registry {

// Every dump in `dir`, oldest release first (the order of envs::release_table()).
Result<std::vector<Registry>> read_history(const std::filesystem::path& dir);

// "" when `candidate` is not among the releases of `history`.
std::string explain_operator(const std::vector<Registry>& history, std::string_view op,
                             std::string_view candidate);
std::string explain_argument(const std::vector<Registry>& history, std::string_view op,
                             std::string_view argument, std::string_view candidate);
// The ops (canonical names) that accept `argument` in some release but not in `candidate`: the
// ones a refusal that does not name its op can be about (1.9.1's does not).
std::vector<std::string> ops_lacking_argument(const std::vector<Registry>& history,
                                              std::string_view argument,
                                              std::string_view candidate);

}  // namespace mbcc::registry
