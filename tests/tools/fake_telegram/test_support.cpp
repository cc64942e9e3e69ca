// Implementation of test_support.hpp: libcurl requests, posix_spawn of fake-telegram with
// stdout/stderr captured in a temp dir, and SIGTERM shutdown with exit-status reporting.
#include "test_support.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace botfn::fake_telegram::testing {
namespace {

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t appendHeader(char* data, size_t size, size_t count, void* user) {
  addHeaderLine(std::string_view(data, size * count),
                *static_cast<std::map<std::string, std::string>*>(user));
  return size * count;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Json HttpResponse::json() const {
  Json j = Json::parse(body, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

HttpResponse httpRequest(const std::string& method, const std::string& url, const std::string& body,
                         const std::string& contentType, long timeoutMs) {
  HttpResponse response;
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!contentType.empty())
    headers = curl_slist_append(headers, ("Content-Type: " + contentType).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, appendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

std::string urlEncode(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

FakeTelegram::FakeTelegram(std::vector<std::string> extraArgs) {
  char pattern[] = "/tmp/fake_telegram_test.XXXXXX";
  dir_ = mkdtemp(pattern);
  std::string portFile = dir_ + "/port";
  // FAKE_TELEGRAM_BIN in the environment overrides the binary (e.g. a sanitizer build).
  const char* override = std::getenv("FAKE_TELEGRAM_BIN");
  std::string binary = override != nullptr && *override != '\0' ? override : FAKE_TELEGRAM_BIN;
  std::vector<std::string> args = {binary,        "--host", "127.0.0.1", "--port", "0",
                                   "--port-file", portFile, "--token",   kToken};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir_ + "/stdout").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ + "/stderr").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    pid_ = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  if (pid_ < 0) return;

  bool ready = waitUntil(
      [&] {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // exited early: give up
        }
        return !readFile(portFile).empty();
      },
      std::chrono::seconds(10));
  if (ready && pid_ > 0) port_ = std::atoi(readFile(portFile).c_str());
}

FakeTelegram::~FakeTelegram() {
  terminate();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int FakeTelegram::terminate() {
  if (pid_ <= 0) return exitCode_;
  kill(pid_, SIGTERM);
  int status = 0;
  bool exited =
      waitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(10));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  exitCode_ = exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exitCode_;
}

std::string FakeTelegram::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string FakeTelegram::stdoutText() const { return readFile(dir_ + "/stdout"); }

std::string FakeTelegram::stderrText() const { return readFile(dir_ + "/stderr"); }

HttpResponse FakeTelegram::api(const std::string& method, const Json& params,
                               const std::string& token) const {
  return httpRequest("POST", url("/bot" + token + "/" + method), params.dump(), "application/json");
}

HttpResponse FakeTelegram::controlPost(const std::string& path, const Json& body) const {
  return httpRequest("POST", url("/control/" + path), body.dump(), "application/json");
}

HttpResponse FakeTelegram::controlGet(const std::string& pathAndQuery, long timeoutMs) const {
  return httpRequest("GET", url("/control/" + pathAndQuery), "", "", timeoutMs);
}

Json FakeTelegram::userSays(int64_t userId, const std::string& text) const {
  return controlPost("message", Json{{"token", kToken},
                                     {"user_id", userId},
                                     {"text", text},
                                     {"first_name", "Ann"},
                                     {"username", "ann"}})
      .json();
}

void addHeaderLine(std::string_view line, std::map<std::string, std::string>& headers) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value(line.substr(colon + 1));
  value.erase(0, value.find_first_not_of(' '));
  value.erase(value.find_last_not_of("\r\n ") + 1);
  headers[name] = value;
}

}  // namespace botfn::fake_telegram::testing
