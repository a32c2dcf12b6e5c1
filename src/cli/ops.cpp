// mbcc ops: the operator registry of each release (part registry): dump it through the C API
// worker into the shipped dumps, and diff two releases.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/registries.hpp"
#include "envs/envs.hpp"
#include "registry/diff.hpp"
#include "registry/dump.hpp"

namespace mbcc::cli {
namespace {

using registry::Change;
using registry::Diff;

nlohmann::ordered_json change_to_json(const Change& change) {
  const registry::Rule& rule = registry::rule(change.kind);
  nlohmann::ordered_json json = {{"kind", rule.name}, {"op", change.op}};
  if (!change.op_in_b.empty()) json["op_in_b"] = change.op_in_b;
  json["attribute"] = change.attribute;
  json["before"] = change.before;
  json["after"] = change.after;
  if (!change.values.empty()) json["values"] = change.values;
  json["backward"] = registry::effect_name(rule.backward);
  json["forward"] = registry::effect_name(rule.forward);
  json["description"] = change.describe();
  return json;
}

int breaks(const Diff& diff, bool backward) {
  int count = 0;
  for (const Change& change : diff.changes) {
    const registry::Rule& rule = registry::rule(change.kind);
    count += registry::is_break(backward ? rule.backward : rule.forward) ? 1 : 0;
  }
  return count;
}

void print_diff(const Diff& diff, bool as_json) {
  const int backward = breaks(diff, true);
  const int forward = breaks(diff, false);
  if (as_json) {
    nlohmann::ordered_json changes = nlohmann::ordered_json::array();
    for (const Change& change : diff.changes) changes.push_back(change_to_json(change));
    const nlohmann::ordered_json out = {{"from", diff.from},
                                        {"to", diff.to},
                                        {"backward_breaks", backward},
                                        {"forward_breaks", forward},
                                        {"changes", std::move(changes)}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print(
      "{} -> {}: {} changes; {} can break files of {} read by {} (backward), {} files of {} "
      "read by {} (forward)\n",
      diff.from, diff.to, diff.changes.size(), backward, diff.from, diff.to, forward, diff.to,
      diff.from);
  for (const Change& change : diff.changes) {
    const registry::Rule& rule = registry::rule(change.kind);
    fmt::print("  {:<21} backward {:<15} forward {:<15} {}\n", rule.name,
               registry::effect_name(rule.backward), registry::effect_name(rule.forward),
               change.describe());
  }
}

}  // namespace

void add_ops(CLI::App& app, int& exit_code) {
  auto* ops = app.add_subcommand("ops", "The operator registry of each MXNet release");
  ops->require_subcommand(1);
  auto dir_option = std::make_shared<std::string>();

  auto* dump = ops->add_subcommand(
      "dump", "Dump releases' registries through their C API into the shipped dumps");
  auto versions = std::make_shared<std::vector<std::string>>();
  auto all = std::make_shared<bool>(false);
  dump->add_option("versions", *versions, "releases, e.g. 1.9.1 2.0.0b1");
  dump->add_flag("--all-releases", *all, "every release mbcc can install");
  dump->add_option("--out", *dir_option, "the dumps folder (default: registry/ of the source)");
  dump->callback([versions, all, dir_option, &exit_code] {
    exit_code = 2;
    if (*all) {
      for (const envs::ReleaseQuirks& row : envs::release_table()) {
        if (row.support == envs::Support::kWorks) versions->emplace_back(row.release);
      }
    }
    if (versions->empty()) {
      fmt::print(stderr, "mbcc ops dump: name releases or give --all-releases\n");
      return;
    }
    auto dir = registry_dir(*dir_option);
    if (!dir) {
      fmt::print(stderr, "mbcc ops dump: {}\n", dir.error().message());
      return;
    }
    // Every release first, then the files: a release that fails leaves the dumps as they were.
    std::vector<registry::Registry> dumps;
    for (const std::string& version : *versions) {
      auto dumped = dump_live(version);
      if (!dumped) {
        fmt::print(stderr, "mbcc ops dump: {}: {}\n", version, dumped.error().message());
        return;
      }
      dumps.push_back(std::move(dumped).value());
    }
    for (const registry::Registry& registry : dumps) {
      if (Status written = registry::write_dump(*dir, registry); !written) {
        fmt::print(stderr, "mbcc ops dump: {}\n", written.error().message());
        return;
      }
      fmt::print("{}: {} ops, {} aliases -> {}\n", registry.release, registry.ops.size(),
                 registry.alias_of.size(), registry::dump_path(*dir, registry.release).string());
    }
    exit_code = 0;
  });

  auto* diff = ops->add_subcommand(
      "diff",
      "What changed between two releases' registries, judged both ways; exit 1 when a "
      "change can break files of A read by B");
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  diff->add_option("A", *from, "the older release (the producer)")->required();
  diff->add_option("B", *to, "the newer release (the candidate)")->required();
  diff->add_flag("--json", *as_json, "one JSON object");
  diff->add_option("--registry-dir", *dir_option, "the dumps folder (default: registry/)");
  diff->callback([from, to, as_json, dir_option, &exit_code] {
    exit_code = 2;
    auto dir = registry_dir(*dir_option);
    if (!dir) {
      fmt::print(stderr, "mbcc ops diff: {}\n", dir.error().message());
      return;
    }
    auto a = load_registry(*dir, *from);
    if (!a) {
      fmt::print(stderr, "mbcc ops diff: {}\n", a.error().message());
      return;
    }
    auto b = load_registry(*dir, *to);
    if (!b) {
      fmt::print(stderr, "mbcc ops diff: {}\n", b.error().message());
      return;
    }
    const Diff result = registry::diff_registries(*a, *b);
    print_diff(result, *as_json);
    exit_code = breaks(result, true) > 0 ? 1 : 0;
  });
}

}  // namespace mbcc::cli
