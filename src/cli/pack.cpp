// mbcc pack: a local store's bundles keep their files in the store's shared folder, gzip'd, each
// content once, with their manifests unchanged (part corpus).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "check/check_result.hpp"
#include "cli/commands.hpp"
#include "corpus/pack.hpp"

namespace mbcc::cli {
namespace {

struct PackArgs {
  std::string store = "mbcc-store";
};

std::string megabytes(std::uintmax_t bytes) {
  return fmt::format("{:.2f} MB", static_cast<double>(bytes) / 1e6);
}

int run_pack(const PackArgs& args) {
  Result<corpus::PackReport> report = corpus::pack_store(args.store);
  if (!report) {
    fmt::print(stderr, "mbcc pack: {}\n", report.error().message());
    return kExitRunFailed;
  }
  fmt::print(
      "{}: {} bundles, {} packed: {} files moved into objects/ ({} new objects, the others' "
      "content was there), {} emptied folders removed; {} before, {} after (apparent size)\n",
      args.store, report->bundles, report->bundles_packed, report->files_moved,
      report->objects_written, report->folders_removed, megabytes(report->bytes_before),
      megabytes(report->bytes_after));
  for (const std::string& refused : report->refused) {
    fmt::print(stderr, "refused {}\n", refused);
  }
  return report->refused.empty() ? kExitClean : kExitFailures;
}

}  // namespace

void add_pack(CLI::App& app, int& exit_code) {
  auto* pack = app.add_subcommand(
      "pack",
      "Keep every file of a local store's bundles once, gzip'd, in STORE/objects, manifests "
      "unchanged");
  auto args = std::make_shared<PackArgs>();
  pack->add_option("--store", args->store, "the local store")->capture_default_str();
  pack->callback([args, &exit_code] { exit_code = run_pack(*args); });
}

}  // namespace mbcc::cli
