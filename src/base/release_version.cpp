#include "base/release_version.hpp"

#include <algorithm>
#include <charconv>

#include "base/natural_order.hpp"

namespace mbcc {
namespace {

// Reads the digits at the front of `text` into `out`; false when there are none.
bool take_number(std::string_view& text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc() || stop == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(stop - text.data()));
  return true;
}

bool take(std::string_view& text, std::string_view word) {
  if (!text.starts_with(word)) return false;
  text.remove_prefix(word.size());
  return true;
}

}  // namespace

std::strong_ordering ReleaseVersion::operator<=>(const ReleaseVersion& other) const {
  const std::size_t n = std::max(release.size(), other.release.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int64_t a = i < release.size() ? release[i] : 0;
    const int64_t b = i < other.release.size() ? other.release[i] : 0;
    if (a != b) return a <=> b;
  }
  if (pre != other.pre) {
    if (!pre) return std::strong_ordering::greater;  // the final release after its pre-releases
    if (!other.pre) return std::strong_ordering::less;
    return *pre <=> *other.pre;
  }
  return post.value_or(-1) <=> other.post.value_or(-1);
}

Result<ReleaseVersion> parse_release_version(std::string_view text) {
  ReleaseVersion v;
  std::string_view rest = text;
  auto bad = [&text] {
    Error e;
    e.source = "MXNet release version";
    e.found = "\"" + std::string(text) + "\"";
    e.allowed = "a version such as 1.9.1, 2.0.0b1 or 1.8.0.post0";
    return e;
  };
  int64_t part = 0;
  if (!take_number(rest, part)) return bad();
  v.release.push_back(part);
  while (rest.starts_with('.') && rest.size() > 1 && rest[1] >= '0' && rest[1] <= '9') {
    rest.remove_prefix(1);
    if (!take_number(rest, part)) return bad();
    v.release.push_back(part);
  }
  // 2.0 names itself "2.0.0.beta1" in its tags and "2.0.0beta1" in __version__.
  take(rest, ".");
  constexpr std::array<std::pair<std::string_view, int>, 6> kPre = {
      {{"alpha", 0}, {"beta", 1}, {"rc", 2}, {"a", 0}, {"b", 1}, {"c", 2}}};
  for (const auto& [word, rank] : kPre) {
    if (take(rest, word)) {
      int64_t number = 0;
      take_number(rest, number);  // "2.0.0.alpha" is alpha 0
      v.pre = {rank, number};
      break;
    }
  }
  if (take(rest, ".post") || take(rest, "post")) {
    int64_t number = 0;
    if (!take_number(rest, number)) return bad();
    v.post = number;
  }
  if (!rest.empty()) return bad();
  return v;
}

bool release_name_less(std::string_view a, std::string_view b) {
  Result<ReleaseVersion> va = parse_release_version(a);
  Result<ReleaseVersion> vb = parse_release_version(b);
  if (va.ok() && vb.ok() && *va != *vb) return *va < *vb;
  if (va.ok() != vb.ok()) return va.ok();
  return natural_less(a, b);
}

}  // namespace mbcc
