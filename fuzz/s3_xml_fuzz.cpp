// libFuzzer target for what an S3 server (or anything posing as one) sends back, and for the AWS
// INI files: any bytes give a value or an Error, never a crash or undefined behaviour, and what
// parses keeps the limits the store relies on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace mbcc::store::detail;
  auto page = parse_list_page(text, "fuzz");
  if (page.ok()) {
    if (page->truncated && page->next_token.empty()) std::abort();  // the caller would loop
    for (const auto& object : page->objects) {
      if (object.key.empty() || object.key.size() > 1024) std::abort();
    }
  }
  S3ErrorBody error = parse_error_body(text);
  if (error.code.size() > 64 || error.message.size() > 300) std::abort();
  (void)parse_upload_id(text, "fuzz");
  (void)parse_ini(text, "fuzz");
  return 0;
}
