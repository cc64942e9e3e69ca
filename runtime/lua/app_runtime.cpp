// LuaExecutor: app loading, per-update coroutines, suspension on http.request, outcome mapping,
// and VM recycling: a VM that hit its memory cap is replaced at once while the runs suspended
// on it drain there.
#include "lua/app_runtime.hpp"

#include <lua.hpp>

#include <list>
#include <map>

#include "core/log.hpp"
#include "lua/api/api_ctx.hpp"
#include "lua/api/json_bridge.hpp"
#include "lua/api/modules.hpp"
#include "lua/big_stack_thread.hpp"
#include "lua/binding.hpp"
#include "lua/coroutine_runner.hpp"
#include "lua/loader.hpp"
#include "lua/vm.hpp"

namespace botfn::lua {
namespace {

struct LoadedApp {
  Loader* loader = nullptr;
  AppInstance instance;
};

// A VM and the apps loaded into it. Declared in this order so the apps' Refs go first.
struct VmGeneration {
  std::unique_ptr<Vm> vm;
  std::map<std::string, std::unique_ptr<LoadedApp>> apps;
  size_t runs = 0;  // runs started on this VM that have not finished
};

// Old VMs that may still be draining their suspended runs, per worker. Past it, the oldest
// one's runs fail and it is closed, so a worker holds at most (1 + this) VMs.
constexpr size_t kMaxDrainingVms = 1;

tl::expected<Ref, std::string> runChunk(Vm& vm, const Ref& chunk, const std::string& what) {
  auto co = Coroutine::create(vm, chunk);
  if (!co) return tl::unexpected(co.error());
  auto out = (*co)->resume();
  if (out.status != RunStatus::Finished) {
    return tl::unexpected(what + ": " + out.message +
                          (out.traceback.empty() ? "" : "\n" + out.traceback));
  }
  if (out.valueCount < 1) return tl::unexpected(what + " returned nothing");
  return (*co)->valueRef(1);
}

tl::expected<std::unique_ptr<LoadedApp>, std::string> loadApp(Vm& vm, const AppRuntimeOptions& o,
                                                              const std::string& name) {
  const auto app_dir = std::filesystem::path("apps") / name;
  if (!std::filesystem::is_regular_file(o.scripts_dir / app_dir / "main.lua")) {
    return tl::unexpected("app '" + name + "': " + (o.scripts_dir / app_dir / "main.lua").string() +
                          " not found");
  }
  auto loader = Loader::create(vm, LoaderConfig{o.scripts_dir, {app_dir, "lib"}, {}});
  if (!loader) return tl::unexpected(loader.error());
  auto app = std::make_unique<LoadedApp>();
  app->loader = *loader;
  app->instance.name = name;
  auto chunk = app->loader->loadFile(app_dir / "main.lua");
  if (!chunk) return tl::unexpected(chunk.error());
  auto table = runChunk(vm, *chunk, (app_dir / "main.lua").string());
  if (!table) return tl::unexpected(table.error());
  lua_State* L = vm.state();
  table->push(L);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return tl::unexpected((app_dir / "main.lua").string() +
                          " must return the app (return app at the end)");
  }
  lua_getfield(L, -1, "handle");  // through the metatable: App methods are not raw fields
  const bool has_handle = lua_isfunction(L, -1);
  Ref handle_ref;
  if (has_handle) {
    handle_ref = Ref(vm, L);
  } else {
    lua_pop(L, 1);
  }
  lua_getfield(L, -1, "http_hosts");
  if (lua_istable(L, -1)) {
    for (size_t i = 1; i <= lua_objlen(L, -1); ++i) {
      lua_rawgeti(L, -1, static_cast<int>(i));
      if (lua_type(L, -1) == LUA_TSTRING) app->instance.http_hosts.insert(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, -1, "default_lang");
  if (lua_type(L, -1) == LUA_TSTRING) app->instance.default_lang = lua_tostring(L, -1);
  lua_pop(L, 2);
  if (!has_handle) {
    return tl::unexpected((app_dir / "main.lua").string() +
                          " must return an app built with require('bot').app()");
  }
  app->instance.handle = std::move(handle_ref);
  app->instance.app = std::move(*table);
  const auto i18n_dir = o.scripts_dir / app_dir / "i18n";
  if (std::filesystem::is_directory(i18n_dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(i18n_dir)) {
      if (entry.path().extension() != ".lua") continue;
      const auto rel = app_dir / "i18n" / entry.path().filename();
      auto catalog_chunk = app->loader->loadFile(rel);
      if (!catalog_chunk) return tl::unexpected(catalog_chunk.error());
      auto catalog = runChunk(vm, *catalog_chunk, rel.string());
      if (!catalog) return tl::unexpected(catalog.error());
      app->instance.catalogs.emplace(entry.path().stem().string(), std::move(*catalog));
    }
  }
  // Isolation between updates: nothing built while loading may carry one chat's data to the
  // next, so the files' globals, the module tables and the app itself become read-only.
  if (auto frozen = app->loader->freezeLoaded(); !frozen) return tl::unexpected(frozen.error());
  app->instance.app.push(L);
  if (vm.freezeTop(L, "the app (" + (app_dir / "main.lua").string() + ")") != 0) {
    std::string message =
        stringAt(L, -1).empty() ? "freezing the app failed" : std::string(stringAt(L, -1));
    lua_pop(L, 1);
    return tl::unexpected(std::move(message));
  }
  return app;
}

// A script error that breaks a sandbox rule (a write to a frozen table, C nesting past the guard)
// fails the same way on every run: LuaSandbox is dead-lettered at once (errors.def). The sandbox
// marks these messages with "sandbox:" or "read-only".
ErrorCode codeOfScriptError(const std::string& message) {
  if (message.find("sandbox:") != std::string::npos ||
      message.find("read-only") != std::string::npos) {
    return ErrorCode::LuaSandbox;
  }
  return ErrorCode::LuaRuntime;
}

std::unique_ptr<Vm> newVm(const AppRuntimeOptions& o) {
  VmOptions vo;
  vo.memoryLimit = o.memory_bytes;
  vo.cpuBudget = o.cpu_budget;
  auto vm = Vm::create(vo);
  if (!vm) throw std::runtime_error("Lua VM: " + vm.error());
  installModules(**vm);
  return std::move(*vm);
}

class LuaExecutor final : public effects::Executor {
 public:
  LuaExecutor(AppRuntimeOptions options, HostServices services, effects::Post post)
      : options_(std::move(options)),
        services_(services),
        post_(std::move(post)),
        lua_cpu_(services_.metrics->histogram(
            "botfn_lua_cpu_seconds", "",
            {1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 1e-3, 1e-2, 0.1, 1})) {
    current_ = newGeneration();
  }

  ~LuaExecutor() override {
    runs_.clear();
    draining_.clear();
    current_.reset();
  }

  void run(std::shared_ptr<const effects::RunInput> input,
           std::function<void(effects::RunOutcome)> done) override {
    if (current_->vm->needsRecycle()) recycle();
    auto app = appFor(input->bot->app);
    if (!app) {
      return done(
          effects::RunOutcome{false, {}, Error{ErrorCode::LuaSyntax, app.error()}, app.error()});
    }
    auto run = std::make_unique<Run>();
    Run* r = run.get();
    r->id = ++last_run_id_;
    r->gen = current_.get();
    r->input = std::move(input);
    r->done = std::move(done);
    r->state.input = r->input.get();
    r->state.app = &(*app)->instance;
    r->state.services = &services_;
    r->state.lang = languageOf(**app, r->input->update.language_code);
    r->state.deadline = std::chrono::steady_clock::now() + options_.update_deadline;
    r->state.limits = options_.limits;
    const auto& handle = (*app)->instance.handle;
    const auto& app_table = (*app)->instance.app;
    auto co = Coroutine::create(
        *r->gen->vm, handle,
        [r, &app_table](lua_State* L) {
          app_table.push(L);
          r->ctx_box = pushCtx(L, &r->state);
          return 2;
        },
        &r->state);
    if (!co) {
      return r->done(effects::RunOutcome{false, {}, Error{ErrorCode::LuaRuntime, co.error()}, ""});
    }
    r->co = std::move(*co);
    r->co->setCpuBudget(options_.cpu_budget);
    ++r->gen->runs;
    runs_.emplace(r->id, std::move(run));
    step(r, {});
  }

  size_t active() const override { return runs_.size(); }

 private:
  struct Run {
    uint64_t id = 0;              // what a completion looks the run up by: it may be gone by then
    VmGeneration* gen = nullptr;  // the VM the run lives on, current or draining
    std::shared_ptr<const effects::RunInput> input;
    RunState state;
    std::unique_ptr<Coroutine> co;
    void* ctx_box = nullptr;
    std::function<void(effects::RunOutcome)> done;
  };

  std::unique_ptr<VmGeneration> newGeneration() {
    auto gen = std::make_unique<VmGeneration>();
    gen->vm = newVm(options_);
    return gen;
  }

  // The VM hit its memory cap: new runs go to a fresh VM at once. Runs suspended on the old one
  // (waiting for http.request) finish there, or fail cleanly if they hit the cap themselves;
  // it is closed when the last of them ends (each ends by lua.update_deadline).
  void recycle() {
    auto fresh = newGeneration();  // first: if it throws, the current VM stays in place
    services_.metrics->counter("botfn_lua_vm_recycled_total")++;
    if (current_->runs > 0) draining_.push_back(std::move(current_));
    current_ = std::move(fresh);
    if (draining_.size() > kMaxDrainingVms) abandon(draining_.front().get());
  }

  // Fails every run still suspended on `gen`; finish() closes it with the last one.
  void abandon(VmGeneration* gen) {
    std::vector<Run*> victims;
    for (auto& [id, run] : runs_) {
      if (run->gen == gen) victims.push_back(run.get());
    }
    for (Run* r : victims) {
      fail(r, ErrorCode::LuaOutOfMemory,
           "the Lua VM was recycled (it hit lua.memory_bytes) while this update waited", "");
    }
  }

  void release(VmGeneration* gen) {
    if (--gen->runs > 0 || gen == current_.get()) return;
    draining_.remove_if([gen](const std::unique_ptr<VmGeneration>& g) { return g.get() == gen; });
  }

  tl::expected<LoadedApp*, std::string> appFor(const std::string& name) {
    auto& apps = current_->apps;
    auto it = apps.find(name);
    if (it != apps.end()) return it->second.get();
    auto app = loadApp(*current_->vm, options_, name);
    if (!app) return tl::unexpected(app.error());
    return apps.emplace(name, std::move(*app)).first->second.get();
  }

  static std::string languageOf(const LoadedApp& app, const std::string& code) {
    std::string lang = code.substr(0, code.find('-'));
    for (auto& c : lang) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return app.instance.catalogs.count(lang) ? lang : app.instance.default_lang;
  }

  void step(Run* r, const PushFn& push) {
    log::TraceScope trace(std::to_string(r->input->entry.update_id));
    if (std::chrono::steady_clock::now() > r->state.deadline) {
      return fail(r, ErrorCode::LuaDeadline, "update exceeded lua.update_deadline", "");
    }
    auto out = r->co->resume(push);
    switch (out.status) {
      case RunStatus::Finished:
        return succeed(r, out.valueCount > 0 && lua_toboolean(r->co->thread(), 1));
      case RunStatus::Yielded:
        return suspend(r);
      case RunStatus::Killed:
        services_.metrics->counter("botfn_lua_kills_total", "app=\"" + r->state.app->name + "\"")++;
        return fail(r, ErrorCode::LuaKilled, out.message, out.traceback);
      case RunStatus::OutOfMemory:
        services_.metrics->counter("botfn_lua_oom_total", "app=\"" + r->state.app->name + "\"")++;
        r->gen->vm->markForRecycle();
        return fail(r, ErrorCode::LuaOutOfMemory, out.message, out.traceback);
      case RunStatus::Error: {
        // A host function's own error (db.query past its cap, ...) keeps its code; otherwise
        // the message tells a sandbox violation from a script's runtime error.
        ErrorCode code = failureCode(r->state, out.message);
        if (code == ErrorCode::LuaRuntime) code = codeOfScriptError(out.message);
        return fail(r, code, out.message, out.traceback);
      }
    }
  }

  void suspend(Run* r) {
    if (!r->state.pending_http) {
      return fail(r, ErrorCode::LuaRuntime, "handler yielded without a pending operation", "");
    }
    net::HttpRequest req = std::move(*r->state.pending_http);
    r->state.pending_http.reset();
    services_.http->send(std::move(req), [this, id = r->id](Result<net::HttpResponse> res) {
      post_([this, id, res = std::move(res)]() mutable {
        auto it = runs_.find(id);
        if (it == runs_.end()) return;  // failed meanwhile: its VM was recycled
        Run* r = it->second.get();
        if (!res && res.error().code == ErrorCode::ShuttingDown) {
          // Aborted by a shutdown: end the run without resuming the script, so the update stays
          // queued and runs again, whole, after the restart.
          return fail(r, ErrorCode::ShuttingDown, "http.request aborted by shutdown", "");
        }
        step(r, [res = std::move(res)](lua_State* L) {
          if (!res) {
            lua_pushnil(L);
            const std::string err = "http.request: " + res.error().describe();
            lua_pushlstring(L, err.data(), err.size());
            return 2;
          }
          lua_createtable(L, 0, 3);
          lua_pushnumber(L, res->status);
          lua_setfield(L, -2, "status");
          lua_pushlstring(L, res->body.data(), res->body.size());
          lua_setfield(L, -2, "body");
          lua_createtable(L, 0, static_cast<int>(res->headers.size()));
          for (const auto& [k, v] : res->headers) {
            lua_pushlstring(L, v.data(), v.size());
            lua_setfield(L, -2, k.c_str());
          }
          lua_setfield(L, -2, "headers");
          return 1;
        });
      });
    });
  }

  // ctx.data back to JSON, in protected mode: a script may have stored a function in it.
  static int serializeData(lua_State* L) {
    auto* out = static_cast<std::string*>(lua_touserdata(L, 1));
    lua_rawgeti(L, LUA_REGISTRYINDEX, static_cast<int>(lua_tointeger(L, 2)));
    *out = toJson(L, -1, "ctx.data").dump();
    return 0;
  }

  void succeed(Run* r, bool handled) {
    auto& st = r->state;
    st.effects.handled = handled;
    if (st.data_ref != -2 && st.data_ref != LUA_NOREF) {
      lua_State* L = r->gen->vm->state();
      std::string json;
      lua_pushcfunction(L, serializeData);
      lua_pushlightuserdata(L, &json);
      lua_pushinteger(L, st.data_ref);
      const int rc = lua_pcall(L, 2, 0, 0);
      luaL_unref(L, LUA_REGISTRYINDEX, st.data_ref);
      st.data_ref = LUA_NOREF;
      if (rc != 0) {
        std::string msg =
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "ctx.data is not serializable";
        lua_pop(L, 1);
        return fail(r, ErrorCode::LuaRuntime, msg, "");
      }
      if (json != r->input->conversation.data_json) st.effects.data_json = std::move(json);
    }
    services_.metrics->counter("botfn_lua_runs_total",
                               "app=\"" + st.app->name + "\",result=\"ok\"")++;
    effects::RunOutcome outcome{true, std::move(st.effects), {}, ""};
    finish(r, std::move(outcome));
  }

  void fail(Run* r, ErrorCode code, const std::string& message, const std::string& traceback) {
    services_.metrics->counter(
        "botfn_lua_errors_total",
        "app=\"" + r->state.app->name + "\",code=\"" + std::string(errorInfo(code).name) + "\"")++;
    log::get("lua")->error("{}", message + (traceback.empty() ? "" : "\n" + traceback));
    if (r->state.data_ref != -2 && r->state.data_ref != LUA_NOREF) {
      luaL_unref(r->gen->vm->state(), LUA_REGISTRYINDEX, r->state.data_ref);
      r->state.data_ref = LUA_NOREF;
    }
    finish(r, effects::RunOutcome{false, {}, Error{code, message}, traceback});
  }

  void finish(Run* r, effects::RunOutcome outcome) {
    lua_cpu_.observe(std::chrono::duration<double>(r->co->cpuUsed()).count());
    if (r->ctx_box) killCtx(r->ctx_box);
    auto done = std::move(r->done);
    VmGeneration* gen = r->gen;
    runs_.erase(r->id);  // the coroutine is released before the callback commits
    release(gen);        // and before its VM, if that was draining
    done(std::move(outcome));
  }

  AppRuntimeOptions options_;
  HostServices services_;
  effects::Post post_;
  Histogram& lua_cpu_;
  std::unique_ptr<VmGeneration> current_;
  std::list<std::unique_ptr<VmGeneration>> draining_;
  std::map<uint64_t, std::unique_ptr<Run>> runs_;  // declared last: runs go before their VMs
  uint64_t last_run_id_ = 0;
};

}  // namespace

effects::ExecutorFactory makeExecutorFactory(AppRuntimeOptions options, HostServices services) {
  return [options, services](effects::Post post) -> std::unique_ptr<effects::Executor> {
    return std::make_unique<LuaExecutor>(options, services, std::move(post));
  };
}

Result<void> checkApp(const AppRuntimeOptions& options, const std::string& app) {
  std::string error;
  runOnBigStack([&] {
    try {
      auto vm = newVm(options);
      auto loaded = loadApp(*vm, options, app);
      if (!loaded) error = loaded.error();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!error.empty()) return fail(ErrorCode::LuaSyntax, error);
  return {};
}

}  // namespace botfn::lua
