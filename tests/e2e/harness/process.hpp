// A child process for end-to-end tests: started with its own environment, output captured to
// files, stopped with a signal or killed with SIGKILL; always reaped on destruction.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace botfn::e2e {

class Process {
 public:
  // stdin_pipe: the test writes the child's stdin (writeStdin/closeStdin); else /dev/null.
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::filesystem::path log_dir, std::string name, bool stdin_pipe = false);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit status (128+signal when killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  void kill9();
  std::string stdoutText() const;
  std::string stderrText() const;
  // Writes to the child's stdin (when started with a stdin pipe) and closes it on request.
  void writeStdin(const std::string& text);
  void closeStdin();

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int status_ = -1;
  std::filesystem::path out_, err_;
};

// Polls fn every 20 ms until it returns true or the timeout passes.
bool waitUntil(const std::function<bool()>& fn, std::chrono::milliseconds timeout);

}  // namespace botfn::e2e
