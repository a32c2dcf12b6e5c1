// CheckKey: what names one check — a bundle (producer × model × save API), one load API and one
// candidate. Expectations match it by globs; reports group and label by it.
#pragma once

#include <string>

namespace mbcc {

struct CheckKey {
  std::string producer;   // the release that wrote the bundle: "1.5.1"
  std::string model;      // "lenet"
  std::string save_api;   // "gluon-export"
  std::string load_api;   // "gluon-imports"
  std::string candidate;  // the build under test, as the run names it: "1.9.1"
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const CheckKey&) const = default;
};

}  // namespace mbcc
