// Lua cost per update: runs the demo app's fallback path (text message → router → t() →
// ctx:reply) N times on one worker VM with budgets on, and prints the mean Lua CPU time and the
// mean wall time per update including the executor around it. Usage: lua_update_bench [N]
#include <cstdio>
#include <filesystem>
#include <future>

#include "flow/worker.hpp"
#include "lua/app_runtime.hpp"
#include "storage/sqlite/sqlite_backend.hpp"

using namespace botfn;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  const auto dir = std::filesystem::temp_directory_path() / "botfn_lua_bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Metrics metrics;
  storage::sqlite::SqliteDb db({dir / "db", 0, 2}, metrics);
  if (!storage::sqlite::applySystemSchema(db)) return 1;
  storage::sqlite::SqliteStore store(db);
  lua::AppRuntimeOptions options;
  options.scripts_dir = BOTFN_SOURCE_DIR "/scripts-lua";
  flow::Worker worker(
      0, lua::makeExecutorFactory(options, lua::HostServices{&store, nullptr, &metrics}), 8 << 20);
  auto bot = std::make_shared<effects::BotProfile>(
      effects::BotProfile{"demo", "demo", "demo_bot", {}, ""});
  const nlohmann::json update{
      {"update_id", 1},
      {"message",
       {{"message_id", 1},
        {"date", 1},
        {"text", "hello there"},
        {"chat", {{"id", 5}, {"type", "private"}}},
        {"from", {{"id", 5}, {"is_bot", false}, {"first_name", "A"}, {"language_code", "en"}}}}}};
  effects::RunInput in;
  in.bot = bot;
  in.update_doc = telegram::UpdateDocument::fromJson(update);
  in.update = telegram::parseUpdateValue(update, "demo_bot");
  in.conversation = {"", "{}"};
  auto shared_in = std::make_shared<const effects::RunInput>(in);
  auto runOnce = [&] {
    std::promise<bool> p;
    worker.post([&] {
      worker.executor().run(shared_in, [&](effects::RunOutcome o) { p.set_value(o.ok); });
    });
    return p.get_future().get();
  };
  for (int i = 0; i < 200; ++i) runOnce();  // warm up: app loaded, caches filled
  auto& h = metrics.histogram("botfn_lua_cpu_seconds");
  const auto count0 = h.count();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    if (!runOnce()) return 2;
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text = metrics.render();
  double sum = 0;
  if (auto pos = text.find("botfn_lua_cpu_seconds_sum "); pos != std::string::npos)
    sum = std::stod(text.substr(pos + 26));
  std::printf(
      "updates %d: Lua CPU %.2f us/update (all runs incl. warm-up: %llu), wall per update incl. "
      "this harness's post-and-wait round trip between threads %.2f us\n",
      n, 1e6 * sum / static_cast<double>(h.count()),
      static_cast<unsigned long long>(h.count() - count0 + 200), 1e6 * wall / n);
  std::filesystem::remove_all(dir);
  return 0;
}
