// Parsing JSON that comes from a file we do not trust (safetensors headers, config.json, index
// files): bounded nesting, duplicate keys detected, every failure a LoadError with the file name
// and byte offset.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace vkmoe {

inline constexpr int kMaxJsonDepth = 64;

// Throws LoadError "<file>: offset N: JSON nesting deeper than 64" before anything is parsed,
// so a hostile file cannot make the parser build millions of nested values.
void check_json_depth(std::string_view text, std::string_view file, int max_depth = kMaxJsonDepth);

// Depth check + parse. With `unique_top_level_keys`, a key that appears twice in the top-level
// object is an error (nlohmann would silently keep the last one).
nlohmann::json parse_untrusted_json(std::string_view text, std::string_view file,
                                    bool unique_top_level_keys = false);

}  // namespace vkmoe
