// One entry of the `vkmoe` command line: each subcommand lives in its own tools/cmd_*.cpp
// and is listed once in tools/vkmoe.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace vkmoe::cli {

using CommandFn = int (*)(std::span<const std::string> args);

struct Command {
  std::string_view name;
  std::string_view usage;  // one line, shown by `vkmoe help`
  CommandFn run;
};

}  // namespace vkmoe::cli
