// The option loop the vkmoe subcommands share: `--name VALUE` flags that fill strings, bare
// switches that set bools, -h/--help, and the options a command cannot run without. Messages
// name the command and end with its usage, and the exit codes are the CLI's (0 help, 2 misuse).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>

namespace vkmoe::cli {

struct ValueOption {
  const char* name;    // "-m", "--data", ...
  std::string* value;  // filled with the argument that follows the name
};

struct SwitchOption {
  const char* name;  // "--json", ...
  bool* value;       // set to true when the name is present
};

struct RequiredOption {
  const std::string* value;
  const char* shown;  // how the usage message names it, e.g. "-m MODEL"
};

// Parses `args`; returns the exit code when the command should stop (help printed: 0, an
// unknown or incomplete argument: 2) and nothing when it should run.
std::optional<int> parse_options(const char* command, const char* usage,
                                 std::span<const std::string> args,
                                 std::initializer_list<ValueOption> values,
                                 std::initializer_list<SwitchOption> switches = {});

// The same over option tables built at run time (a command's own flags plus shared ones such as
// tools/hmc_flags.h).
std::optional<int> parse_option_table(const char* command, const char* usage,
                                      std::span<const std::string> args,
                                      std::span<const ValueOption> values,
                                      std::span<const SwitchOption> switches = {});

// 2 with a message naming the first missing option, nothing when all are given.
std::optional<int> check_required(const char* command, const char* usage,
                                  std::initializer_list<RequiredOption> required);

// An option's value as a whole number >= 0 / a number > 0; std::invalid_argument naming the
// flag and the text otherwise.
std::int64_t parse_whole(const std::string& flag, const std::string& text);
double parse_positive(const std::string& flag, const std::string& text);

}  // namespace vkmoe::cli
