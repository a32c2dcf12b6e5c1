// LOAD_FAIL messages that name an unknown operator or argument, explained by the operator
// registries of every release (part registry): which releases have it.
#pragma once

#include <filesystem>
#include <span>

#include "check/check_result.hpp"

namespace mbcc {

// Fills CandidateMessage::explanation of each check whose message is a missing operator or an
// operator argument and whose candidate has a dump in `registry_dir`. The dumps are read only
// when some check needs them; a dump that cannot be read leaves the messages unexplained.
void explain_refusals(const std::filesystem::path& registry_dir, std::span<CheckResult> checks);

}  // namespace mbcc
