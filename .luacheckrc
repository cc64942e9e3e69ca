-- luacheck for scripts-lua/ and the test apps: the globals are the sandbox's (runtime/lua/
-- sandbox_prelude.cpp builds them; runtime/lua/api/modules.cpp adds botfn's modules), so a typo
-- in a global name, a stray global write or an unused local is caught before a reload.
std = "lua51"
read_globals = { "db", "http", "log", "t", "json", "bit" }
-- Not in the sandbox: scripts that use them fail at run time, so flag them here too.
not_globals = {
  "io", "debug", "package", "require_native", "dofile", "loadfile", "loadstring",
  "getfenv", "setfenv", "collectgarbage", "gcinfo", "newproxy", "module",
}
max_line_length = 120
-- Handlers share one signature (ctx, ...); an unused ctx is not a mistake.
unused_args = false
-- The broken test app is broken on purpose (botfn must report its syntax error at start).
exclude_files = { "tests/e2e/apps/broken/**" }
