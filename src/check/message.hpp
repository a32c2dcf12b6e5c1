// Reading a candidate's own error text: MXNet words each kind of break the same way across
// releases ("Cannot find argument", "is missing in file", …), so a few substrings tell a
// missing operator from renamed parameters or a file the release cannot read. The report
// shows the kind and its subject (the operator or parameter) beside the full text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mbcc {

enum class MessageKind {
  kMissingOperator,        // the graph names an operator the candidate does not register
  kOperatorArgument,       // an operator attribute the candidate does not accept
  kParameterNameMismatch,  // parameter names in the file differ from the network's
  kNpShape,                // saved and loaded under different np-shape semantics
  kFileFormat,             // the candidate cannot read the file's format
  kShapeInference,         // shapes do not infer or do not agree at bind
  kDuplicateName,          // two graph outputs share a name
  kOther,
};

std::string_view message_kind_name(MessageKind kind);  // "missing_operator", …
std::optional<MessageKind> message_kind_from_name(std::string_view name);

struct MessageClass {
  MessageKind kind = MessageKind::kOther;
  std::string subject;  // the operator, argument or parameter named, when the text names one
  bool operator==(const MessageClass&) const = default;
};

MessageClass classify_message(std::string_view message);

}  // namespace mbcc
