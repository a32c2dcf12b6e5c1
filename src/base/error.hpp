// Error: what went wrong, where and why, in words a person can act on. Readers fill the
// structured fields (source, location, field, found, allowed) so tests can pin them and the
// message always names the file, the offset or JSON path, the value found and what was allowed.
#pragma once

#include <string>

namespace mbcc {

struct Error {
  std::string source;    // file path, store key or command that failed
  std::string location;  // "byte 24", "$.nodes[3].inputs[0]", … (empty when not applicable)
  std::string field;     // the field or step that was being read
  std::string found;     // the value found
  std::string allowed;   // what would have been accepted
  std::string detail;    // free text, for errors that do not fit the fields above

  // "<source>: <location>: <field>: found <found>, allowed <allowed>: <detail>" with empty
  // parts left out.
  std::string message() const;

  static Error plain(std::string source, std::string detail) {
    Error e;
    e.source = std::move(source);
    e.detail = std::move(detail);
    return e;
  }
};

}  // namespace mbcc
