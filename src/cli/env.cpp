// mbcc env: the managed MXNet environments, one venv per release (part envs).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "envs/envs.hpp"

namespace mbcc::cli {
namespace {

nlohmann::json env_to_json(const envs::Env& env) {
  return {{"release", env.release},
          {"dir", env.dir.string()},
          {"python", env.python.string()},
          {"libmxnet", env.libmxnet.string()},
          {"requirement", env.requirement},
          {"mxnet_version", env.mxnet_version},
          {"numpy_version", env.numpy_version},
          {"created", env.created}};
}

// Prints `result`'s value with `print`, or its error; returns the exit code.
template <class T, class Print>
int report(const Result<T>& result, Print print) {
  if (!result.ok()) {
    fmt::print(stderr, "mbcc env: {}\n", result.error().message());
    return 2;
  }
  print(*result);
  return 0;
}

}  // namespace

void add_env(CLI::App& app, int& exit_code) {
  auto* env = app.add_subcommand("env", "Managed MXNet environments, one venv per release");
  env->require_subcommand(1);

  auto* install = env->add_subcommand("install", "Install releases (kept if already there)");
  auto versions = std::make_shared<std::vector<std::string>>();
  install
      ->add_option("versions", *versions,
                   "releases or MXNet distributions of one, e.g. 1.9.1 2.0.0b1 mxnet-mkl==1.6.0")
      ->required();
  install->callback([versions, &exit_code] {
    envs::Options options;
    options.progress = [](std::string_view line) { fmt::print(stderr, "  {}\n", line); };
    exit_code = 0;
    for (const std::string& version : *versions) {
      int code = report(envs::install(version, options), [](const envs::Env& e) {
        fmt::print("{} ready: {}\n", e.release, e.dir.string());
      });
      exit_code = std::max(exit_code, code);
    }
  });

  auto* list = env->add_subcommand("list", "List installed environments");
  auto as_json = std::make_shared<bool>(false);
  list->add_flag("--json", *as_json, "one JSON array");
  list->callback([as_json, &exit_code] {
    exit_code = report(envs::list(), [&](const std::vector<envs::Env>& all) {
      if (*as_json) {
        nlohmann::json out = nlohmann::json::array();
        for (const envs::Env& e : all) out.push_back(env_to_json(e));
        fmt::print("{}\n", out.dump(2));
        return;
      }
      for (const envs::Env& e : all) {
        fmt::print("{:<12} mxnet {:<12} {}\n", e.release, e.mxnet_version, e.dir.string());
      }
    });
  });

  auto* releases = env->add_subcommand("releases", "List the releases mbcc knows how to install");
  releases->callback([&exit_code] {
    for (const envs::ReleaseQuirks& r : envs::release_table()) {
      fmt::print("{:<10} {:<8} pip mxnet=={:<14} {}\n", r.release,
                 r.support == envs::Support::kWorks ? "works" : "broken", r.pip_version, r.note);
    }
    exit_code = 0;
  });

  auto version = std::make_shared<std::string>();
  auto* path = env->add_subcommand("path", "Print the folder of an installed release");
  path->add_option("version", *version)->required();
  path->callback([version, &exit_code] {
    exit_code = report(envs::path(*version), [](const auto& p) { fmt::print("{}\n", p.string()); });
  });
  auto* python = env->add_subcommand("python", "Print the Python of an installed release");
  python->add_option("version", *version)->required();
  python->callback([version, &exit_code] {
    exit_code =
        report(envs::python(*version), [](const auto& p) { fmt::print("{}\n", p.string()); });
  });
  auto* remove = env->add_subcommand("remove", "Delete the environment of a release");
  remove->add_option("version", *version)->required();
  remove->callback(
      [version, &exit_code] { exit_code = report(envs::remove(*version), [](const Ok&) {}); });
}

}  // namespace mbcc::cli
