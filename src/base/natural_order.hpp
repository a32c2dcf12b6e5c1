// Names ordered as people read them: runs of digits compare as numbers, so resnet18 < resnet50 <
// resnet101 and lstm-2 < lstm-10. Releases have an order of their own (base/release_version.hpp),
// which falls back on this one for names that are not versions.
#pragma once

#include <string>
#include <string_view>

namespace mbcc {

bool natural_less(std::string_view a, std::string_view b);
struct NaturalLess {
  bool operator()(const std::string& a, const std::string& b) const { return natural_less(a, b); }
};

}  // namespace mbcc
