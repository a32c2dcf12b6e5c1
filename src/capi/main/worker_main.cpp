// mbcc-capi-worker LIBMXNET: the C API worker. Loads one libmxnet.so for its whole life and
// serves the JSON-lines protocol of capi/protocol.hpp on stdin/stdout until stdin ends. A crash
// inside MXNet kills the process; the pool on the other side turns that into a CRASH verdict.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "capi/library.hpp"
#include "capi/protocol.hpp"
#include "capi/worker.hpp"

namespace {

void emit(std::FILE* out, const std::string& line) {
  std::fputs(line.c_str(), out);
  std::fputc('\n', out);
  std::fflush(out);
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

}  // namespace

// An exception here is a bug in mbcc: terminating (and so a CRASH verdict) is right.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  using namespace mbcc::capi;
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: mbcc-capi-worker LIBMXNET_SO\n");
    return 2;
  }
  // Answers go to a private copy of stdout; fd 1 becomes stderr, so that nothing MXNet or its
  // dependencies print can corrupt the protocol.
  const int answer_fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  if (answer_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    std::perror("mbcc-capi-worker: redirecting stdout");
    return 2;
  }
  std::FILE* answers = ::fdopen(answer_fd, "w");
  if (answers == nullptr) {
    std::perror("mbcc-capi-worker: fdopen");
    return 2;
  }

  auto library = Library::open(argv[1]);
  if (!library) {
    emit(answers, Json{{"hello", "mbcc-capi-worker"},
                       {"error", {{"kind", "dlopen"}, {"message", library.error().message()}}}}
                      .dump());
    return 1;
  }
  emit(answers, hello(**library).dump());

  std::string line;
  while (std::getline(std::cin, line)) {
    if (is_blank(line)) continue;
    if (auto registry_answer = serve_registry(**library, line)) {
      // MXNet's messages are not always UTF-8: replace what is not.
      emit(answers, registry_answer->dump(-1, ' ', false, Json::error_handler_t::replace));
      continue;
    }
    Json id;
    auto request = parse_request(line, &id);
    if (!request) {
      Answer answer;
      answer.id = id;
      answer.status = AnswerStatus::kError;
      answer.error = Failure{"request", "", request.error().message()};
      emit(answers, answer_line(answer));
      continue;
    }
    emit(answers, answer_line(serve(**library, *request)));
  }
  (*library)->notify_shutdown();
  // Every answer is flushed. Skip static destructors: after MXNotifyShutdown, 0.11's engine
  // threads race them and abort the process about half of the time.
  std::fclose(answers);
  ::_exit(0);
}
