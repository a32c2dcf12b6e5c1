// Test helper shared by the formats tests: a reader's error must name the source, the field, the
// byte offset, the value found (when given) and what was allowed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace mbcc {

// The offset an error points at, from its "byte N" location.
inline std::size_t error_offset(const Error& error) {
  EXPECT_TRUE(error.location.starts_with("byte ")) << error.message();
  return error.location.starts_with("byte ") ? std::stoull(error.location.substr(5)) : SIZE_MAX;
}

template <class T>
void expect_reader_error(const Result<T>& result, std::string_view source, std::string_view field,
                         std::size_t offset, std::string_view found = {}) {
  ASSERT_FALSE(result.ok()) << "expected an error at " << field;
  const Error& e = result.error();
  EXPECT_EQ(e.source, source);
  EXPECT_EQ(e.field, field) << e.message();
  EXPECT_EQ(error_offset(e), offset) << e.message();
  if (!found.empty()) {
    EXPECT_EQ(e.found, found) << e.message();
  }
  EXPECT_FALSE(e.allowed.empty()) << e.message();
}

}  // namespace mbcc
