// fork/exec with a clean environment plus the given variables.
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace botfn::e2e {

bool waitUntil(const std::function<bool()>& fn, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fn();
}

Process::Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
                 std::filesystem::path log_dir, std::string name, bool stdin_pipe) {
  std::filesystem::create_directories(log_dir);
  static int counter = 0;
  const std::string tag = name + "." + std::to_string(counter++);
  out_ = log_dir / (tag + ".out");
  err_ = log_dir / (tag + ".err");
  int pipe_fds[2] = {-1, -1};
  if (stdin_pipe && pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    const auto key = kv.substr(0, kv.find('='));
    if (!env.count(key) && key.rfind("BOTFN_", 0) != 0 && key != "BOT_TOKEN")
      env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int out = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    if (stdin_pipe) {
      dup2(pipe_fds[0], 0);
      close(pipe_fds[1]);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
    }
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (stdin_pipe) {
    close(pipe_fds[0]);
    stdin_fd_ = pipe_fds[1];
  }
}

Process::~Process() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

bool Process::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds timeout) {
  waitUntil([&] { return !running(); }, timeout);
  return status_;
}

void Process::kill9() {
  signal(SIGKILL);
  wait(std::chrono::seconds(5));
}

static std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Process::stdoutText() const { return slurp(out_); }
std::string Process::stderrText() const { return slurp(err_); }

void Process::writeStdin(const std::string& text) {
  if (stdin_fd_ >= 0) (void)!::write(stdin_fd_, text.data(), text.size());
}

void Process::closeStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

}  // namespace botfn::e2e
