// migrate-data: resolves the target URL, opens both sides, applies the apps' migrations on the
// target through copyData, and prints the per-table counts. Errors name the option or key they
// come from; the URL's password is a log secret before anything can print it.
#include "app/migrate_data.hpp"

#include <cstdio>

#include "app/server_app.hpp"
#include "app/storage_options.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "storage/data_copy.hpp"

namespace botfn::app {
namespace {

int refuse(const std::string& message) {
  std::fprintf(stderr, "botfn migrate-data: %s\n", log::redact(message).c_str());
  return 1;
}

}  // namespace

int migrateData(const Config& c, const MigrateDataOptions& options) {
  registerSecrets(c);
  const bool from_option = !options.to.empty();
  const std::string key = from_option ? "--to" : "storage.postgres_url (DATABASE_URL)";
  const std::string url = from_option ? options.to : c.storage_postgres_url;
  registerUrlSecret(url);
  if (url.empty()) return refuse("--to: the PostgreSQL URL to move the data to is missing");
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
    return refuse(key + ": expected postgresql://user[:password]@host[:port]/database");
  }

  storage::BackendOptions backend = backendOptionsOf(c);
  backend.postgres.url = url;
  auto source = storage::openEmbeddedSource(backend);
  if (!source) return refuse(source.error().detail);
  auto target = storage::openPostgresTarget(backend, globalMetrics());
  if (!target) return refuse(key + ": " + target.error().detail);

  storage::CopyOptions copy;
  copy.keep_queued = options.keep_queued;
  copy.migrate_apps = [&c](storage::AppSql& sql) -> Result<void> {
    if (migrateApps(c, sql) != 0)
      return fail(ErrorCode::ConfigInvalid, "the apps' migrations failed on the target");
    return {};
  };
  auto report = storage::copyData(**source, **target, copy);
  if (!report) return refuse(report.error().detail);

  std::printf("moved %s -> %s\n", c.storage_path.c_str(),
              log::redact((*target)->describe()).c_str());
  for (const auto& t : report->copied) {
    const std::string name =
        (t.table.owner == storage::TableOwner::App ? "app." : "botfn.") + t.table.name;
    std::printf("  %-32s %lld rows\n", name.c_str(), static_cast<long long>(t.rows));
  }
  for (const auto& t : report->source_only) {
    std::printf("  %-32s not copied: the apps' migrations do not create it on the target\n",
                t.c_str());
  }
  if (report->queued > 0) {
    std::printf("  %lld queued update(s) stay in %s (--keep-queued)\n",
                static_cast<long long>(report->queued), c.storage_path.c_str());
  }
  std::printf("next: start botfn with storage.postgres_url (DATABASE_URL) set to the target\n");
  return 0;
}

}  // namespace botfn::app
