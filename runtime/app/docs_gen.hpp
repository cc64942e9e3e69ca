// Generated reference docs: docs/error-codes.md from errors.def (config docs: config.hpp).
#pragma once
#include <string>
namespace botfn::app {
std::string errorCodesMarkdown();
}
