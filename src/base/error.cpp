#include "base/error.hpp"

namespace mbcc {

std::string Error::message() const {
  std::string out;
  auto append = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  append(source);
  append(location);
  append(field);
  if (!found.empty() || !allowed.empty()) {
    std::string values;
    if (!found.empty()) values = "found " + found;
    if (!allowed.empty()) values += (values.empty() ? "" : ", ") + std::string("allowed ") + allowed;
    append(values);
  }
  append(detail);
  return out;
}

}  // namespace mbcc
