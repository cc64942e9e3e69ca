// The command line (the only translation unit with CLI11): serve, poll, chat, migrate, check,
// webhook set|info|delete, dlq list, docs config|errors. Called from main().
#pragma once

namespace botfn::app {
int runCli(int argc, char** argv);
}
