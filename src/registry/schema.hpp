// The operator registry of one MXNet release, as mbcc keeps it: every operator under its
// canonical name with its aliases, documented arguments, inputs, variadic-count key, and what
// its parameter parser really accepts (the bogus-key probe). Also the two text formats MXNet
// prints that mbcc must read: dmlc type strings ("int, optional, default='1'") and the
// parser's "Possible Arguments" listing. Spec: shared/docs/mxnet-op-registry.md §2.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbcc::registry {

// One argument, parsed from its dmlc type string.
struct Arg {
  std::string name;
  std::string type_string;               // as MXNet printed it
  std::string type;                      // "Shape(tuple)", "int (non-negative)"; "enum" for {…}
  std::vector<std::string> enum_values;  // as listed ("None" included when it is)
  bool required = false;
  std::optional<std::string> default_value;  // as printed, outer quotes removed
  bool operator==(const Arg&) const = default;
};

// What a type string is: an argument, or (no "required"/"optional") an input tensor.
struct TypeString {
  bool is_input = false;
  Arg arg;  // name left empty
};
TypeString parse_type_string(std::string_view text);

// A value as the parser would hold it, so that two spellings compare equal: floats rounded to
// float32 (1.5+ prints 0.00100000005 where 1.4 printed 0.001), booleans as true/false, shapes
// as [a,b] (an unknown Shape(tuple) printed [] before 1.5 and None after), quotes removed.
std::string canonical_value(const Arg& arg, std::string_view value);

enum class Parser {
  kStrict,   // refuses keys it does not know (dmlc parameter parser)
  kNone,     // takes any key: the op has no parser
  kUnknown,  // refused the probe for another reason (e.g. Custom needs op_type)
};
std::string_view parser_name(Parser parser);
std::optional<Parser> parser_from_name(std::string_view name);

struct Op {
  std::string name;  // canonical (real) name
  std::vector<std::string> aliases;
  std::string key_var_num_args;  // "" when none
  std::vector<std::string> inputs;
  std::vector<Arg> args;  // documented, inputs left out
  Parser parser = Parser::kNone;
  // The parser's own fields where they differ from the documented ones (ftml_update in 1.2).
  std::optional<std::vector<Arg>> parser_fields;
  std::string probe_message;  // first line of the refusal when the parser is kUnknown

  // What a file's attributes are checked against: the parser's fields when recorded.
  const std::vector<Arg>& accepted() const { return parser_fields ? *parser_fields : args; }
  const Arg* find_accepted(std::string_view arg_name) const;
  bool operator==(const Op&) const = default;
};

struct Registry {
  std::string release;  // "1.9.1"
  int mxnet_version = 0;
  std::map<std::string, Op, std::less<>> ops;                // by canonical name
  std::map<std::string, std::string, std::less<>> alias_of;  // alias -> canonical name
  // The op `name` names in this release, directly or as an alias; nullptr when none.
  const Op* find(std::string_view name) const;
  bool operator==(const Registry&) const = default;
};

// The fields listed after "Possible Arguments:" in a parser's refusal of an unknown key, or
// nullopt when `message` is not such a refusal.
std::optional<std::vector<Arg>> parse_possible_arguments(std::string_view message);

}  // namespace mbcc::registry
