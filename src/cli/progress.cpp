#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace mbcc::cli {

ProgressLine::ProgressLine() : enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(std::string_view what, std::uint64_t done, std::uint64_t total,
                          std::string_view extra) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (what != what_ || total != total_) {  // a new phase: its own rate
    what_ = std::string(what);
    total_ = total;
    started_ = now;
  } else if (done < total && now - last_drawn_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_drawn_ = now;
  std::string left;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  if (done > 0 && done < total && elapsed > 1.0) {
    const auto seconds = static_cast<long>(elapsed * static_cast<double>(total - done) /
                                           static_cast<double>(done));
    left = fmt::format(", {}:{:02} left", seconds / 60, seconds % 60);
  }
  fmt::print(stderr, "\r\033[K{} {}/{}{}{}{}", what, done, total, extra.empty() ? "" : ", ",
             extra, left);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes) / 1000.0;
  int unit = 0;
  while (value >= 1000.0 && unit < 3) {
    value /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace mbcc::cli
