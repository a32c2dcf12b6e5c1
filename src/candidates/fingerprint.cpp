#include "candidates/fingerprint.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "base/file.hpp"
#include "base/sha256.hpp"

namespace mbcc {
namespace {

namespace fs = std::filesystem;

// The variables of a worker's environment that change what MXNet computes or which libraries
// it loads; the rest (a terminal, a shell's counters) would only make needless misses.
constexpr std::array<std::string_view, 9> kSettingPrefixes = {
    "MXNET_",           "OMP_",       "KMP_", "MKL_", "OPENBLAS_", "GOMP_", "DNNL_",
    "LD_LIBRARY_PATH=", "LD_PRELOAD="};

std::string variable(const runners::WorkerCommand& command, std::string_view name) {
  for (const std::string& entry : command.env) {
    if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return "";
}

bool written_by_imports(const fs::path& path) { return path.extension() == ".pyc"; }

// Every regular file under `root` (itself, when it is one), but what imports write.
void add_tree(const fs::path& root, std::set<fs::path>& files) {
  std::error_code ec;
  if (fs::is_regular_file(root, ec)) {
    files.insert(root);
    return;
  }
  if (!fs::is_directory(root, ec)) return;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    std::error_code unreadable;  // such an entry is left out, and the walk goes on
    if (it->is_directory(unreadable) && it->path().filename() == "__pycache__") {
      it.disable_recursion_pending();
    } else if (it->is_regular_file(unreadable) && !written_by_imports(it->path())) {
      files.insert(it->path());
    }
  }
}

// The folders a .pth file adds to sys.path: its lines that name a folder ("import" lines run
// code, and are hashed as the file's own bytes).
std::vector<fs::path> pth_folders(const fs::path& pth) {
  std::vector<fs::path> folders;
  std::ifstream in(pth);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("#") || line.starts_with("import")) continue;
    fs::path folder = fs::path(line).is_absolute() ? fs::path(line) : pth.parent_path() / line;
    std::error_code ec;
    if (fs::is_directory(folder, ec)) folders.push_back(folder);
  }
  return folders;
}

void add_python_files(const runners::WorkerCommand& command, std::set<fs::path>& files) {
  const fs::path python = command.argv.front();
  std::error_code ec;
  const fs::path resolved = fs::canonical(python, ec);
  if (!ec) files.insert(resolved);
  // A venv's own packages, or those of the installation the interpreter belongs to.
  std::vector<fs::path> prefixes = {python.parent_path().parent_path()};
  if (!fs::exists(prefixes.front() / "pyvenv.cfg", ec) && !resolved.empty()) {
    prefixes.push_back(resolved.parent_path().parent_path());
  }
  std::vector<fs::path> package_folders;
  for (const fs::path& prefix : prefixes) {
    add_tree(prefix / "pyvenv.cfg", files);
    for (fs::directory_iterator it(prefix / "lib", ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path site = it->path() / "site-packages";
      std::error_code missing;
      if (it->path().filename().string().starts_with("python") && fs::is_directory(site, missing)) {
        package_folders.push_back(site);
      }
    }
  }
  std::vector<fs::path> added;
  for (const fs::path& site : package_folders) {
    add_tree(site, files);
    for (fs::directory_iterator it(site, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() != ".pth") continue;
      for (const fs::path& folder : pth_folders(it->path())) added.push_back(folder);
    }
  }
  package_folders.insert(package_folders.end(), added.begin(), added.end());
  for (const fs::path& folder : added) add_tree(folder, files);
  // Where MXNet's libinfo finds a library that is not in the package (a source build).
  for (const fs::path& folder : package_folders) {
    const fs::path package = folder / "mxnet";
    for (const char* build : {"lib", "build"}) {
      add_tree(package.parent_path().parent_path() / build / "libmxnet.so", files);
    }
  }
  if (std::string library = variable(command, "MXNET_LIBRARY_PATH"); !library.empty()) {
    add_tree(library, files);
  }
  if (std::string probe_parent = variable(command, "PYTHONPATH"); !probe_parent.empty()) {
    add_tree(fs::path(probe_parent) / "mbcc_probe", files);
  }
}

void add_capi_files(const runners::WorkerCommand& command, std::set<fs::path>& files) {
  add_tree(command.argv.front(), files);
  if (command.argv.size() < 2) return;
  const fs::path library = command.argv[1];
  add_tree(library, files);
  std::error_code ec;
  for (fs::directory_iterator it(library.parent_path(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code unreadable;
    if (name.starts_with("lib") && name.find(".so") != std::string::npos &&
        it->is_regular_file(unreadable)) {
      files.insert(it->path());
    }
  }
}

std::string settings(const runners::WorkerCommand& command) {
  std::string text = "kind " + command.kind + "\n";
  for (const std::string& arg : command.argv) text += "arg " + arg + "\n";
  for (const std::string& arg : command.fork_server_argv) text += "fork-server arg " + arg + "\n";
  std::vector<std::string> kept;
  for (const std::string& entry : command.env) {
    if (std::any_of(kSettingPrefixes.begin(), kSettingPrefixes.end(),
                    [&entry](std::string_view prefix) { return entry.starts_with(prefix); })) {
      kept.push_back(entry);
    }
  }
  std::sort(kept.begin(), kept.end());
  for (const std::string& entry : kept) text += "env " + entry + "\n";
  return text;
}

std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

}  // namespace

std::vector<fs::path> worker_files(const runners::WorkerCommand& command) {
  std::set<fs::path> files;
  if (!command.argv.empty()) {
    if (command.kind == "python") {
      add_python_files(command, files);
    } else {
      add_capi_files(command, files);
    }
  }
  return {files.begin(), files.end()};
}

Result<std::string> worker_fingerprint(const runners::WorkerCommand& command,
                                       const fs::path& memo_dir) {
  const std::vector<fs::path> files = worker_files(command);
  std::string stats;
  for (const fs::path& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      return Error::plain(file.string(), "cannot stat a file of the candidate");
    }
    stats += fmt::format("{}\t{} {}.{} {}.{} {} {}\n", file.string(), st.st_size, st.st_mtim.tv_sec,
                         st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_ino,
                         st.st_dev);
  }
  const fs::path memo = memo_dir.empty() ? fs::path() : memo_dir / sha256_hex(bytes_of(stats));
  std::string content;
  if (!memo.empty()) {
    Result<FileBytes> kept = read_file(memo);
    if (kept.ok()) {
      content.assign(reinterpret_cast<const char*>(kept->bytes().data()), kept->size);
    }
  }
  if (!is_sha256_hex(content)) {
    std::string listing;
    for (const fs::path& file : files) {
      Result<std::string> sha = sha256_file(file);
      if (!sha.ok()) return sha.error();
      listing += file.string() + " " + *sha + "\n";
    }
    content = sha256_hex(bytes_of(listing));
    if (!memo.empty()) {
      std::error_code ec;
      fs::create_directories(memo_dir, ec);
      // a memo that cannot be kept costs the next run the hashing again, nothing more
      (void)write_file_atomic(memo, bytes_of(content));
    }
  }
  return sha256_hex(bytes_of("files " + content + "\n" + settings(command)));
}

}  // namespace mbcc
