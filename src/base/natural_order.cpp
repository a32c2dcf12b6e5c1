#include "base/natural_order.hpp"

#include <algorithm>
#include <cctype>

namespace mbcc {
namespace {

std::string_view without_leading_zeros(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  return first == std::string_view::npos ? digits.substr(digits.size() - 1) : digits.substr(first);
}

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

bool natural_less(std::string_view a, std::string_view b) {
  constexpr std::string_view kDigits = "0123456789";
  while (!a.empty() && !b.empty()) {
    if (is_digit(a.front()) && is_digit(b.front())) {
      const std::size_t a_end = std::min(a.find_first_not_of(kDigits), a.size());
      const std::size_t b_end = std::min(b.find_first_not_of(kDigits), b.size());
      const std::string_view a_number = without_leading_zeros(a.substr(0, a_end));
      const std::string_view b_number = without_leading_zeros(b.substr(0, b_end));
      if (a_number.size() != b_number.size()) return a_number.size() < b_number.size();
      if (a_number != b_number) return a_number < b_number;
      a.remove_prefix(a_end);
      b.remove_prefix(b_end);
    } else {
      if (a.front() != b.front()) return a.front() < b.front();
      a.remove_prefix(1);
      b.remove_prefix(1);
    }
  }
  return a.size() < b.size();  // one is a prefix of the other: the shorter first
}

}  // namespace mbcc
