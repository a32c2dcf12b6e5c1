// The S3 XML bodies mbcc reads, parsed with pugixml. Bodies come from the network: their size is
// capped before parsing, every count and length is checked, and pugixml expands no entities
// beyond the five predefined ones (no external entities, no entity bombs).
#include <pugixml.hpp>

#include <charconv>

#include "store/internal.hpp"

namespace mbcc::store::detail {

namespace {

constexpr std::size_t kMaxKeyBytes = 1024;         // S3's own limit
constexpr std::size_t kMaxObjectsPerPage = 10000;  // AWS sends at most 1000
constexpr std::size_t kMaxTokenBytes = 4096;

Error xml_error(const std::string& source, std::string field, std::string detail) {
  Error e;
  e.source = source;
  e.field = std::move(field);
  e.detail = std::move(detail);
  return e;
}

Result<pugi::xml_document*> load(pugi::xml_document& doc, std::string_view xml, const std::string& source) {
  if (xml.size() > kMaxXmlBytes) {
    Error e = xml_error(source, "XML body", "");
    e.found = std::to_string(xml.size()) + " bytes";
    e.allowed = "at most " + std::to_string(kMaxXmlBytes);
    return e;
  }
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    Error e = xml_error(source, "XML body", parsed.description());
    e.location = "byte " + std::to_string(parsed.offset);
    return e;
  }
  return &doc;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<ListPage> parse_list_page(std::string_view xml, const std::string& source) {
  pugi::xml_document doc;
  MBCC_TRY(load(doc, xml, source));
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return xml_error(source, "ListBucketResult", "the listing has no <ListBucketResult> root");
  ListPage page;
  std::string_view truncated = root.child_value("IsTruncated");
  if (truncated != "true" && truncated != "false") {
    Error e = xml_error(source, "IsTruncated", "");
    e.found = "\"" + std::string(truncated.substr(0, 16)) + "\"";
    e.allowed = "true or false";
    return e;
  }
  page.truncated = truncated == "true";
  page.next_token = root.child_value("NextContinuationToken");
  if (page.next_token.size() > kMaxTokenBytes) {
    return xml_error(source, "NextContinuationToken", "longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  if (page.truncated && page.next_token.empty()) {
    return xml_error(source, "NextContinuationToken", "a truncated listing without a continuation token");
  }
  std::size_t index = 0;
  for (pugi::xml_node contents : root.children("Contents")) {
    std::string where = "Contents[" + std::to_string(index++) + "]";
    if (index > kMaxObjectsPerPage) {
      return xml_error(source, "Contents", "more than " + std::to_string(kMaxObjectsPerPage) + " objects in one page");
    }
    std::string_view key = contents.child_value("Key");
    if (key.empty() || key.size() > kMaxKeyBytes) {
      Error e = xml_error(source, where + ".Key", "");
      e.found = std::to_string(key.size()) + " bytes";
      e.allowed = "1 to " + std::to_string(kMaxKeyBytes);
      return e;
    }
    ObjectInfo info{std::string(key), 0};
    std::string_view size = contents.child_value("Size");
    if (!parse_u64(size, info.size)) {
      Error e = xml_error(source, where + ".Size", "");
      e.found = "\"" + std::string(size.substr(0, 24)) + "\"";
      e.allowed = "a decimal byte count";
      return e;
    }
    page.objects.push_back(std::move(info));
  }
  return page;
}

S3ErrorBody parse_error_body(std::string_view xml) {
  S3ErrorBody body;
  if (xml.size() > kMaxXmlBytes) return body;
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8)) return body;
  pugi::xml_node error = doc.child("Error");
  // Short, printable excerpts only: the body is the server's (or an impostor's) text.
  auto clean = [](std::string_view text, std::size_t max) {
    std::string out;
    for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
  };
  body.code = clean(error.child_value("Code"), 64);
  body.message = clean(error.child_value("Message"), 300);
  return body;
}

Result<std::string> parse_upload_id(std::string_view xml, const std::string& source) {
  pugi::xml_document doc;
  MBCC_TRY(load(doc, xml, source));
  std::string_view id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (id.empty() || id.size() > kMaxTokenBytes) {
    return xml_error(source, "UploadId", "the reply to CreateMultipartUpload has no usable <UploadId>");
  }
  return std::string(id);
}

}  // namespace mbcc::store::detail
