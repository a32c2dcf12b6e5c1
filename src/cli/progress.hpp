// The progress of a long command on one line of stderr, redrawn at most ten times a second, and
// only when stderr is a terminal: CI logs get the commands' summary lines instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace mbcc::cli {

class ProgressLine {
 public:
  ProgressLine();
  ~ProgressLine();  // clears the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }

  // "<what> <done>/<total> <unit>[, <extra>], 0:42 left"; the time left is extrapolated from
  // the rate since the first call with this `what` and `total`.
  void update(std::string_view what, std::uint64_t done, std::uint64_t total,
              std::string_view extra = {});
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_ = false;
  bool shown_ = false;
  std::string what_;
  std::uint64_t total_ = 0;
  Clock::time_point started_;
  Clock::time_point last_drawn_;
};

// "512 B", "3.4 MB", "1.2 GB" (powers of 1000, as transfer rates are said).
std::string format_bytes(std::uint64_t bytes);

}  // namespace mbcc::cli
