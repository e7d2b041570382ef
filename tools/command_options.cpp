#include "tools/command_options.h"

#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace vkmoe::cli {

std::optional<int> parse_options(const char* command, const char* usage,
                                 std::span<const std::string> args,
                                 std::initializer_list<ValueOption> values,
                                 std::initializer_list<SwitchOption> switches) {
  return parse_option_table(command, usage, args, {values.begin(), values.size()},
                            {switches.begin(), switches.size()});
}

std::optional<int> parse_option_table(const char* command, const char* usage,
                                      std::span<const std::string> args,
                                      std::span<const ValueOption> values,
                                      std::span<const SwitchOption> switches) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::printf("%s\n", usage);
      return 0;
    }
    bool matched = false;
    for (const SwitchOption& s : switches) {
      if (a == s.name) {
        *s.value = true;
        matched = true;
        break;
      }
    }
    for (const ValueOption& v : values) {
      if (matched) break;
      if (a == v.name && i + 1 < args.size()) {
        *v.value = args[++i];
        matched = true;
      }
    }
    if (!matched) {
      std::fprintf(stderr, "vkmoe %s: unexpected argument '%s'\n%s\n", command, a.c_str(), usage);
      return 2;
    }
  }
  return std::nullopt;
}

std::optional<int> check_required(const char* command, const char* usage,
                                  std::initializer_list<RequiredOption> required) {
  for (const RequiredOption& r : required) {
    if (r.value->empty()) {
      std::fprintf(stderr, "vkmoe %s: missing %s\n%s\n", command, r.shown, usage);
      return 2;
    }
  }
  return std::nullopt;
}

std::int64_t parse_whole(const std::string& flag, const std::string& text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    throw std::invalid_argument(flag + " " + text + ": expected a whole number ≥ 0");
  }
  return v;
}

double parse_positive(const std::string& flag, const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v > 0)) {
    throw std::invalid_argument(flag + " " + text + ": expected a number > 0");
  }
  return v;
}

}  // namespace vkmoe::cli
