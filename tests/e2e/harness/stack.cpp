// Starting and driving the fake Bot API and botfn for end-to-end tests.
#include "stack.hpp"

#include <signal.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "net/http_client_curl.hpp"

namespace botfn::e2e {

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json userMessage(int64_t update_id, int64_t user, const std::string& text) {
  nlohmann::json m{
      {"message_id", update_id % 100000 + 1},
      {"date", 1700000000},
      {"chat", {{"id", user}, {"type", "private"}, {"first_name", "U"}}},
      {"from", {{"id", user}, {"is_bot", false}, {"first_name", "U"}, {"language_code", "en"}}},
      {"text", text}};
  if (!text.empty() && text[0] == '/') {
    const auto space = text.find(' ');
    m["entities"] = {{{"type", "bot_command"},
                      {"offset", 0},
                      {"length", space == std::string::npos ? text.size() : space}}};
  }
  return {{"update_id", update_id}, {"message", m}};
}

namespace {
int readPort(const std::filesystem::path& file, Process& proc, const char* what) {
  if (!waitUntil([&] { return std::filesystem::exists(file) || !proc.running(); },
                 std::chrono::seconds(20)) ||
      !std::filesystem::exists(file)) {
    throw std::runtime_error(std::string(what) + " did not start: " + proc.stderrText());
  }
  return std::stoi(readFile(file));
}
}  // namespace

Stack::Stack(StackOptions options) : options_(std::move(options)) {
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() / ("botfn_e2e_" + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
  http_ = net::makeCurlHttpClient({"e2e"});
  copyScripts();
  std::vector<std::string> fake_argv{
      FAKE_BIN,  "--host", "127.0.0.1", "--port", "0", "--port-file", (dir_ / "fake.port").string(),
      "--token", token_};
  for (const auto& a : options_.fake_args) fake_argv.push_back(a);
  fake_ = std::make_unique<Process>(fake_argv, std::map<std::string, std::string>{}, dir_ / "logs",
                                    "fake");
  fake_port_ = readPort(dir_ / "fake.port", *fake_, "fake-telegram");
  control("POST", "/control/bots",
          {{"token", token_}, {"username", "demo_bot"}, {"first_name", "Demo"}});
  writeConfig();
  startBotfn();
}

Stack::~Stack() {
  instances_.clear();
  botfn_.reset();
  fake_.reset();
  if (!getenv("BOTFN_E2E_KEEP")) std::filesystem::remove_all(dir_);
}

std::string Stack::botfnPath() const { return BOTFN_BIN; }

void Stack::copyScripts() {
  const std::filesystem::path src = BOTFN_SOURCE_DIR;
  const auto opts = std::filesystem::copy_options::recursive;
  std::filesystem::create_directories(dir_ / "scripts" / "apps");
  std::filesystem::copy(src / "scripts-lua" / "lib", dir_ / "scripts" / "lib", opts);
  std::filesystem::copy(src / "scripts-lua" / "apps" / "demo", dir_ / "scripts" / "apps" / "demo",
                        opts);
  for (const auto& e : std::filesystem::directory_iterator(src / "tests" / "e2e" / "apps")) {
    std::filesystem::copy(e.path(), dir_ / "scripts" / "apps" / e.path().filename(), opts);
  }
}

void Stack::writeConfig() {
  // Sections of the base config, merged with toml_extra (TOML forbids repeating a [table]).
  std::vector<std::pair<std::string, std::vector<std::string>>> sections{
      {"server", {"port = 0"}},
      {"storage", {"path = \"" + (dir_ / "db.sqlite").string() + "\""}},
      {"lua", {"scripts_dir = \"" + (dir_ / "scripts").string() + "\""}},
      {"telegram", {"api_base = \"" + fakeUrl() + "\""}},
      {"polling", {"timeout_s = 1"}},
      {"log", {"level = \"debug\""}},
  };
  auto section = [&](const std::string& name) -> std::vector<std::string>& {
    for (auto& [n, lines] : sections) {
      if (n == name) return lines;
    }
    sections.push_back({name, {}});
    return sections.back().second;
  };
  std::istringstream extra(options_.toml_extra);
  std::string line, current;
  while (std::getline(extra, line)) {
    if (line.empty()) continue;
    if (line.front() == '[') {
      current = line.substr(1, line.find(']') - 1);
      section(current);
      continue;
    }
    section(current).push_back(line);
  }
  std::ofstream out(dir_ / "botfn.toml");
  for (const auto& [name, lines] : sections) {  // top-level keys must precede every [table]
    if (name.empty()) {
      for (const auto& l : lines) out << l << "\n";
    }
  }
  for (const auto& [name, lines] : sections) {
    if (name.empty()) continue;
    out << "[" << name << "]\n";
    for (const auto& l : lines) out << l << "\n";
  }
  out << "[bots.demo]\napp = \"" << options_.app << "\"\ntoken_env = \"E2E_BOT_TOKEN\"\n"
      << (options_.secret.empty() ? "" : "secret_env = \"E2E_BOT_SECRET\"\n")
      << "error_text = \"Sorry, something went wrong.\"\n"
      << "[bots.demo.vars]\nsupport = \"@e2e_support\"\n";
}

void Stack::reconfigure(std::string toml_extra) {
  options_.toml_extra = std::move(toml_extra);
  writeConfig();
}

std::unique_ptr<Process> Stack::spawnBotfn(const std::string& name,
                                           const std::map<std::string, std::string>& extra_env) {
  std::filesystem::remove(dir_ / (name + ".port"));
  std::map<std::string, std::string> env{{"E2E_BOT_TOKEN", token_},
                                         {"E2E_BOT_SECRET", options_.secret}};
  for (const auto& [k, v] : options_.env) env[k] = v;
  for (const auto& [k, v] : extra_env) env[k] = v;
  return std::make_unique<Process>(
      std::vector<std::string>{BOTFN_BIN, options_.polling ? "poll" : "serve", "--config",
                               (dir_ / "botfn.toml").string(), "--port-file",
                               (dir_ / (name + ".port")).string()},
      env, dir_ / "logs", name);
}

int Stack::startInstance(const std::map<std::string, std::string>& env) {
  const std::string name = "botfn" + std::to_string(instances_.size() + 2);
  auto with_file = env;
  with_file.emplace("BOTFN_STORAGE_PATH", (dir_ / (name + ".sqlite")).string());
  instances_.push_back(spawnBotfn(name, with_file));
  return readPort(dir_ / (name + ".port"), *instances_.back(), name.c_str());
}

void Stack::startBotfn(bool expect_ready) {
  if (botfn_) past_logs_ += botfn_->stderrText();
  botfn_ = spawnBotfn("botfn", {});
  if (!expect_ready) return;
  port_ = readPort(dir_ / "botfn.port", *botfn_, "botfn");
  if (!options_.polling && options_.webhook) {
    nlohmann::json params{
        {"url", "http://127.0.0.1:" + std::to_string(port_) + "/tg/demo/webhook"}};
    if (!options_.secret.empty()) params["secret_token"] = options_.secret;
    auto r = request("POST", fakeUrl() + "/bot" + token_ + "/setWebhook", params.dump(),
                     {{"Content-Type", "application/json"}});
    if (r.status != 200) throw std::runtime_error("setWebhook at the fake failed: " + r.body);
  }
}

int Stack::stopBotfn(int sig, std::chrono::milliseconds timeout) {
  botfn_->signal(sig);
  return botfn_->wait(timeout);
}

void Stack::killBotfn() { botfn_->kill9(); }

HttpResult Stack::request(const std::string& method, const std::string& url,
                          const std::string& body, net::Headers headers) {
  net::HttpRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.headers = std::move(headers);
  req.timeout = std::chrono::seconds(30);
  req.max_response_bytes = 64 << 20;
  auto r = http_->sendSync(std::move(req));
  HttpResult out;
  if (!r) {
    out.error = r.error().describe();
    return out;
  }
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  return out;
}

HttpResult Stack::postUpdate(const std::string& body, std::optional<std::string> secret,
                             const std::string& bot) {
  net::Headers h{{"Content-Type", "application/json"}};
  const std::string s = secret ? *secret : options_.secret;
  if (!s.empty()) h.emplace_back("X-Telegram-Bot-Api-Secret-Token", s);
  return request("POST", "http://127.0.0.1:" + std::to_string(port_) + "/tg/" + bot + "/webhook",
                 body, h);
}

nlohmann::json Stack::control(const std::string& method, const std::string& path,
                              const nlohmann::json& body) {
  auto r = request(method, fakeUrl() + path, body.is_null() ? "" : body.dump(),
                   {{"Content-Type", "application/json"}});
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("fake control " + path + ": " + r.error + " " + r.body);
  return j;
}

nlohmann::json Stack::say(int64_t user, const std::string& text, const std::string& lang) {
  return control("POST", "/control/message",
                 {{"token", token_},
                  {"user_id", user},
                  {"text", text},
                  {"first_name", "User" + std::to_string(user)},
                  {"language_code", lang}});
}

void Stack::knowChat(int64_t chat) {
  control("POST", "/control/message", {{"token", token_}, {"user_id", chat}, {"text", "hello"}});
}

nlohmann::json Stack::press(int64_t user, int64_t message_id, const std::string& data) {
  return control("POST", "/control/press",
                 {{"token", token_},
                  {"user_id", user},
                  {"chat_id", user},
                  {"message_id", message_id},
                  {"data", data}});
}

nlohmann::json Stack::messages(int64_t chat) {
  return control(
      "GET", "/control/chats/" + std::to_string(chat) + "/messages?token=" + token_)["messages"];
}

nlohmann::json Stack::calls(const std::string& method) {
  auto all = control("GET", "/control/calls?token=" + token_ + "&since=0")["calls"];
  if (method.empty()) return all;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : all) {
    if (c.value("method", "") == method) out.push_back(c);
  }
  return out;
}

nlohmann::json Stack::waitMessages(int64_t chat, size_t n, std::chrono::milliseconds timeout) {
  nlohmann::json got = nlohmann::json::array();
  waitUntil(
      [&] {
        got = messages(chat);
        return got.size() >= n;
      },
      timeout);
  return got;
}

std::string Stack::lastText(int64_t chat) {
  auto m = messages(chat);
  return m.empty() ? "" : m.back().value("text", "");
}

double Stack::metric(const std::string& series, int port) {
  auto r = request("GET", "http://127.0.0.1:" + std::to_string(port ? port : port_) + "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

bool Stack::waitMetric(const std::string& series, double at_least,
                       std::chrono::milliseconds timeout) {
  return waitUntil([&] { return metric(series) >= at_least; }, timeout);
}

std::string Stack::sql(const std::string& query) {
  const auto out = dir_ / "sql.out";
  const std::string cmd = "sqlite3 -readonly '" + (dir_ / "db.sqlite").string() + "' \"" + query +
                          "\" > '" + out.string() + "' 2>&1";
  (void)!std::system(cmd.c_str());
  auto s = readFile(out);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string Stack::logs() const {
  std::string out = past_logs_ + (botfn_ ? botfn_->stderrText() : "");
  for (size_t i = 0; i < instances_.size(); ++i) {
    out += "\n--- botfn" + std::to_string(i + 2) + "\n" + instances_[i]->stderrText();
  }
  return out;
}

}  // namespace botfn::e2e
