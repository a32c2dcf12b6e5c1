// The terminal summary of a run: per candidate a matrix of producers × cases with a two-letter
// code per check, then each failure with what a person needs to act on it, then the counts and
// the exit code. Plain text that reads without colour; colour only marks codes and verdicts.
#pragma once

#include <string>

#include "check/check_result.hpp"

namespace mbcc {

std::string terminal_summary(const RunResult& result, bool colour);

// True when stdout is a terminal and NO_COLOR (no-color.org) is not set.
bool colour_on_stdout();

}  // namespace mbcc
