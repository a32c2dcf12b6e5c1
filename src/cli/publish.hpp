// What `mbcc publish` takes and does, for `mbcc nightly`, which publishes what it generates.
#pragma once

#include <string>

#include "cli/stores.hpp"

namespace mbcc::cli {

struct PublishArgs {
  std::string source;
  std::string destination;
  bool force = false;
  bool dry_run = false;
  BundleGlobs bundles;
  StoreArgs store_args;
};

// Publishes and says what it did; returns the exit code (1: some source bundle was refused).
int run_publish(const PublishArgs& args);

}  // namespace mbcc::cli
