// Command definitions; every command gets --help from CLI11.
#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/chat_client.hpp"
#include "app/config.hpp"
#include "app/docs_gen.hpp"
#include "app/migrate_data.hpp"
#include "app/server_app.hpp"
#include "core/log.hpp"

namespace botfn::app {
namespace {

struct CommonFlags {
  std::string config, api_base, token_env, app, db, scripts;
  int port = -1;
  bool require_tokens = true;

  void add(CLI::App* cmd, bool server) {
    cmd->add_option("-c,--config", config, "botfn.toml to load (default: $BOTFN_CONFIG)");
    cmd->add_option("--db", db, "SQLite database file (storage.path)");
    cmd->add_option("--scripts", scripts, "scripts folder with lib/ and apps/ (lua.scripts_dir)");
    cmd->add_option("--api-base", api_base, "Bot API base URL (telegram.api_base)");
    cmd->add_option("--token-env", token_env, "environment variable with the bot token");
    cmd->add_option("--app", app, "app folder under scripts-lua/apps for the bot");
    if (server) cmd->add_option("-p,--port", port, "HTTP port (server.port); 0 = any free port");
  }
  ConfigOverrides overrides() const {
    ConfigOverrides o;
    if (!config.empty()) o.file = config;
    if (port >= 0) o.port = port;
    if (!api_base.empty()) o.api_base = api_base;
    if (!token_env.empty()) o.token_env = token_env;
    if (!app.empty()) o.app = app;
    if (!db.empty()) o.db_path = db;
    if (!scripts.empty()) o.scripts_dir = scripts;
    o.require_tokens = require_tokens;
    return o;
  }
};

Config load(const CommonFlags& flags) {
  Config c = loadConfig(flags.overrides());
  log::init(c.log_level, c.log_format == "json");
  return c;
}

}  // namespace

int runCli(int argc, char** argv) {
  CLI::App cli{"botfn: Telegram bots as sandboxed Lua apps on a C++ runtime"};
  cli.require_subcommand(1);
  int rc = 0;

  CommonFlags serve_flags;
  std::string port_file;
  auto* serve_cmd =
      cli.add_subcommand("serve", "run the HTTP server, workers and sender (webhook mode)");
  serve_flags.add(serve_cmd, true);
  serve_cmd->add_option("--port-file", port_file, "write the bound HTTP port to this file");
  serve_cmd->callback([&] {
    rc = serve(
        load(serve_flags),
        ServeOptions{false, port_file.empty() ? std::nullopt
                                              : std::optional<std::filesystem::path>(port_file)});
  });

  CommonFlags poll_flags;
  std::string poll_port_file;
  auto* poll_cmd =
      cli.add_subcommand("poll", "like serve, but fetch updates with getUpdates long polling");
  poll_flags.add(poll_cmd, true);
  poll_cmd->add_option("--port-file", poll_port_file, "write the bound HTTP port to this file");
  poll_cmd->callback([&] {
    rc = serve(load(poll_flags),
               ServeOptions{true, poll_port_file.empty()
                                      ? std::nullopt
                                      : std::optional<std::filesystem::path>(poll_port_file)});
  });

  ChatOptions chat_options;
  auto* chat_cmd =
      cli.add_subcommand("chat", "talk to the bot as a Telegram user, through the fake Bot API");
  chat_cmd->add_option("--fake", chat_options.fake_url, "fake Bot API base URL")->required();
  chat_cmd->add_option("--token", chat_options.token, "bot token registered at the fake")
      ->required();
  chat_cmd->add_option("--user", chat_options.user_id, "Telegram user id to start as");
  chat_cmd->add_option("--name", chat_options.first_name, "first name of the user");
  chat_cmd->add_option("--lang", chat_options.language, "language_code of the user (en, ru)");
  chat_cmd->callback([&] { rc = runChat(chat_options); });

  CommonFlags migrate_flags;
  migrate_flags.require_tokens = false;
  auto* migrate_cmd = cli.add_subcommand("migrate", "apply system and app migrations, then exit");
  migrate_flags.add(migrate_cmd, false);
  migrate_cmd->callback([&] { rc = migrate(load(migrate_flags)); });

  CommonFlags move_flags;
  move_flags.require_tokens = false;
  MigrateDataOptions move_options;
  auto* move_cmd = cli.add_subcommand(
      "migrate-data",
      "copy an embedded bot's state (storage.path) into a new PostgreSQL database; stop botfn "
      "first");
  move_flags.add(move_cmd, false);
  move_cmd->add_option("--to", move_options.to,
                       "postgresql:// URL of the target (default: storage.postgres_url)");
  move_cmd->add_flag("--keep-queued", move_options.keep_queued,
                     "leave queued updates in the file (only when the queue stays there: no "
                     "REDIS_URL)");
  move_cmd->callback([&] { rc = migrateData(load(move_flags), move_options); });

  CommonFlags check_flags;
  check_flags.require_tokens = false;
  auto* check_cmd = cli.add_subcommand(
      "check", "compile every configured app; non-zero exit with file:line on errors");
  check_flags.add(check_cmd, false);
  check_cmd->callback([&] { rc = check(load(check_flags)); });

  CommonFlags webhook_flags;
  std::string webhook_bot, webhook_url;
  auto* webhook_cmd = cli.add_subcommand("webhook", "manage the Telegram webhook by hand");
  webhook_cmd->require_subcommand(1);
  for (const char* action : {"set", "info", "delete"}) {
    auto* sub = webhook_cmd->add_subcommand(action, std::string(action) + " the webhook");
    webhook_flags.add(sub, false);
    sub->add_option("--bot", webhook_bot, "bot name (default: every bot)");
    if (std::string(action) == "set")
      sub->add_option("--url", webhook_url, "URL (default: bots.<name>.webhook_url)");
    sub->callback([&, action] {
      rc = webhookCommand(load(webhook_flags), action, webhook_bot, webhook_url);
    });
  }

  CommonFlags dlq_flags;
  dlq_flags.require_tokens = false;
  size_t dlq_limit = 50;
  auto* dlq_cmd = cli.add_subcommand("dlq", "inspect dead-lettered updates");
  dlq_cmd->require_subcommand(1);
  auto* dlq_list =
      dlq_cmd->add_subcommand("list", "print dead letters as JSON lines, newest first");
  dlq_flags.add(dlq_list, false);
  dlq_list->add_option("-n,--limit", dlq_limit, "how many");
  dlq_list->callback([&] { rc = dlqList(load(dlq_flags), dlq_limit); });

  auto* docs_cmd = cli.add_subcommand("docs", "print generated reference docs");
  docs_cmd->require_subcommand(1);
  docs_cmd->add_subcommand("config", "docs/config.md")->callback([&] {
    std::fputs(configReferenceMarkdown().c_str(), stdout);
  });
  docs_cmd->add_subcommand("errors", "docs/error-codes.md")->callback([&] {
    std::fputs(errorCodesMarkdown().c_str(), stdout);
  });

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "botfn: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "botfn: %s\n", log::redact(e.what()).c_str());
    return 2;
  }
  return rc;
}

}  // namespace botfn::app
