#include "loaders/json_guard.h"

#include <set>
#include <string>

#include "loaders/load_error.h"

namespace vkmoe {

void check_json_depth(std::string_view text, std::string_view file, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        throw LoadError(std::string(file) + ": offset " + std::to_string(i) +
                        ": JSON nesting deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;  // unbalanced brackets are the parser's to report
    }
  }
}

namespace {

// SAX pass that only watches the keys of the top-level object (linear; nlohmann's DOM parser
// callback rescans the parent object on every end_object, which is quadratic in the tensor count).
struct TopLevelKeys {
  using json = nlohmann::json;
  std::string_view file;
  int depth = 0;
  std::set<std::string, std::less<>> seen;

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return ++depth, true; }
  bool end_object() { return --depth, true; }
  bool start_array(std::size_t) { return ++depth, true; }
  bool end_array() { return --depth, true; }
  bool key(json::string_t& k) {
    if (depth == 1 && !seen.insert(k).second) {
      throw LoadError(std::string(file) + ": duplicate key '" + k + "'");
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;  // the full parse below reports it
  }
};

}  // namespace

nlohmann::json parse_untrusted_json(std::string_view text, std::string_view file,
                                    bool unique_top_level_keys) {
  check_json_depth(text, file);
  if (unique_top_level_keys) {
    TopLevelKeys keys;
    keys.file = file;
    (void)nlohmann::json::sax_parse(text.begin(), text.end(), &keys);
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw LoadError(std::string(file) + ": offset " + std::to_string(e.byte) +
                    ": invalid JSON: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw LoadError(std::string(file) + ": invalid JSON: " + e.what());
  }
}

}  // namespace vkmoe
