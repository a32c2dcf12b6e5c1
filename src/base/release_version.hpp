// MXNet release versions, ordered as pip orders them (PEP 440, the subset MXNet's releases use):
// 1.2.1 < 1.10.0, 2.0.0a0 < 2.0.0b1 < 2.0.0rc1 < 2.0.0 < 2.0.0.post1, and 1.7.0 == 1.7.0.0.
// Reports, candidate ranges and the direction of a check (is the producer older than the
// candidate?) all order releases through this one definition.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace mbcc {

struct ReleaseVersion {
  std::vector<int64_t> release;  // 1.9.1 → {1, 9, 1}; trailing zeros do not count in order
  // a (alpha), b (beta), rc; absent for a final release, which comes after its pre-releases
  std::optional<std::pair<int, int64_t>> pre;  // {0 a | 1 b | 2 rc, number}
  std::optional<int64_t> post;

  bool is_prerelease() const { return pre.has_value(); }
  std::strong_ordering operator<=>(const ReleaseVersion& other) const;
  bool operator==(const ReleaseVersion& other) const {
    return (*this <=> other) == std::strong_ordering::equal;
  }
};

// Parses "1.9.1", "2.0.0b1", "2.0.0.beta1" (the 2.0 branch's own spelling), "1.8.0.post0".
// Errors name the text and what a version looks like.
Result<ReleaseVersion> parse_release_version(std::string_view text);

// Release order for names that may not be versions: versions first in version order, then the
// others in natural order (base/natural_order.hpp): "my-build" after every release.
bool release_name_less(std::string_view a, std::string_view b);
struct ReleaseNameLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return release_name_less(a, b);
  }
};

}  // namespace mbcc
