// Reading a 256 MiB float32 params file of many arrays from the page cache: mbcc's reader side
// by side with MXNet's own loader (MXNDArrayLoad of a real libmxnet.so, through its C API).
//
//   MBCC_BENCH_LIBMXNET=/path/to/libmxnet.so ./build/dev/ndarray_load_bench
//
// Peak memory is measured in a fresh child process per reader (`--peak-child READER`): the growth
// of its peak resident size over what it had just before the read, as a multiple of the file
// size.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "base/file.hpp"
#include "formats/ndarray_file.hpp"

namespace {

constexpr std::size_t kFileBytes = 256ULL << 20;
constexpr std::size_t kArrays = 512;  // 512 KiB each, like the layers of a mid-size network

const std::filesystem::path& params_file() {
  static const std::filesystem::path path = [] {
    std::filesystem::path p = std::filesystem::temp_directory_path() / "mbcc-bench-256mib.params";
    if (std::filesystem::exists(p)) return p;  // written whole by an earlier run (renamed last)
    mbcc::NDArrayList list;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-1, 1);
    const std::size_t per_array = kFileBytes / kArrays / sizeof(float);
    for (std::size_t i = 0; i < kArrays; ++i) {
      std::vector<float> values(per_array);
      for (float& v : values) v = dist(rng);
      mbcc::NDArrayRecord record;
      record.shape = {static_cast<int64_t>(per_array / 256), 256};
      record.values = mbcc::Tensor::copy_of(
          mbcc::DType::kFloat32, record.shape,
          {reinterpret_cast<const std::byte*>(values.data()), values.size() * sizeof(float)});
      list.arrays.push_back(std::move(record));
      list.names.push_back("arg:layer" + std::to_string(i) + "_weight");
    }
    auto bytes = mbcc::serialize_ndarray_list(list);
    if (!bytes.ok()) throw std::runtime_error(bytes.error().message());
    if (auto written = mbcc::write_file_atomic(p, *bytes); !written.ok()) {
      throw std::runtime_error(written.error().message());
    }
    return p;
  }();
  return path;
}

std::size_t file_size() { return std::filesystem::file_size(params_file()); }

double peak_growth_in_child(const std::string& reader);

void mbcc_read() {
  auto list = mbcc::read_ndarray_list(params_file());
  if (!list.ok()) throw std::runtime_error(list.error().message());
  benchmark::DoNotOptimize(list->arrays.data());
}

void BM_mbcc_read_ndarray_list(benchmark::State& state) {
  mbcc_read();  // warm the page cache
  for (auto _ : state) mbcc_read();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * file_size()));
  state.counters["peak_mem_x_file"] = peak_growth_in_child("mbcc");
}
BENCHMARK(BM_mbcc_read_ndarray_list)->Unit(benchmark::kMillisecond)->UseRealTime();

// The slice of MXNet's C API this benchmark needs; the prototypes are the same from 0.9 to 2.0.
struct MXNetLoader {
  using LoadFn = int (*)(const char*, unsigned*, void***, unsigned*, const char***);
  using FreeFn = int (*)(void*);
  using ErrorFn = const char* (*)();
  LoadFn load = nullptr;
  FreeFn free = nullptr;
  ErrorFn last_error = nullptr;

  static MXNetLoader* open() {
    static MXNetLoader* loader = [] () -> MXNetLoader* {
      const char* path = std::getenv("MBCC_BENCH_LIBMXNET");
      if (path == nullptr) return nullptr;
      void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
      auto* l = new MXNetLoader;
      l->load = reinterpret_cast<LoadFn>(dlsym(lib, "MXNDArrayLoad"));
      l->free = reinterpret_cast<FreeFn>(dlsym(lib, "MXNDArrayFree"));
      l->last_error = reinterpret_cast<ErrorFn>(dlsym(lib, "MXGetLastError"));
      return l;
    }();
    return loader;
  }

  void read() const {
    unsigned count = 0;
    unsigned name_count = 0;
    void** arrays = nullptr;
    const char** names = nullptr;
    if (load(params_file().c_str(), &count, &arrays, &name_count, &names) != 0) {
      throw std::runtime_error(std::string("MXNDArrayLoad: ") + last_error());
    }
    // The handle array is the library's thread-local storage: copy before freeing.
    std::vector<void*> handles(arrays, arrays + count);
    for (void* h : handles) free(h);
  }
};

void BM_mxnet_MXNDArrayLoad(benchmark::State& state) {
  MXNetLoader* mx = MXNetLoader::open();
  if (mx == nullptr) {
    state.SkipWithError("set MBCC_BENCH_LIBMXNET to a libmxnet.so (e.g. from `mbcc env path 1.9.1`)");
    return;
  }
  mx->read();
  for (auto _ : state) mx->read();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * file_size()));
  state.counters["peak_mem_x_file"] = peak_growth_in_child("mxnet");
}
BENCHMARK(BM_mxnet_MXNDArrayLoad)->Unit(benchmark::kMillisecond)->UseRealTime();

long max_rss_kib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Runs one read of `reader` in a fresh process and returns its peak growth / file size.
double peak_growth_in_child(const std::string& reader) {
  std::string command = "/proc/" + std::to_string(getpid()) + "/exe --peak-child " + reader;
  std::FILE* child = popen(command.c_str(), "r");
  long kib = -1;
  if (child == nullptr || std::fscanf(child, "%ld", &kib) != 1) kib = -1;
  if (child != nullptr) pclose(child);
  return static_cast<double>(kib) * 1024.0 / static_cast<double>(file_size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--peak-child") {
    params_file();
    MXNetLoader* mx = std::string(argv[2]) == "mxnet" ? MXNetLoader::open() : nullptr;
    long before = max_rss_kib();
    if (mx != nullptr) {
      mx->read();
    } else {
      mbcc_read();
    }
    std::printf("%ld\n", max_rss_kib() - before);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
