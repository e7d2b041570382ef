#include "loaders/dataset.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "loaders/json_guard.h"
#include "loaders/load_error.h"
#include "loaders/unicode.h"

namespace vkmoe {
namespace {

using nlohmann::json;

// Where a line's problems are reported: "<file>:<line>".
class Line {
 public:
  Line(std::string_view file, std::size_t number)
      : where_(std::string(file) + ":" + std::to_string(number)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw LoadError(where_ + ": " + field + ": " + what);
  }
  const json& member(const json& object, const char* key) const {
    auto it = object.find(key);
    if (it == object.end()) fail(key, "missing");
    return *it;
  }
  std::string string(const json& object, const char* key) const {
    const json& value = member(object, key);
    if (!value.is_string()) fail(key, "expected a string");
    return value.get<std::string>();
  }
  std::vector<std::string> strings(const json& value, const std::string& field) const {
    if (!value.is_array()) fail(field, "expected an array of strings");
    std::vector<std::string> out;
    for (const json& v : value) {
      if (!v.is_string()) fail(field, "expected an array of strings");
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

std::vector<std::string> letters(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.emplace_back(1, static_cast<char>('A' + i));
  return out;
}

void check_choices(const Line& line, const MultipleChoiceItem& item, const char* field) {
  if (item.choices.size() < 2)
    line.fail(field, "needs at least 2 choices, has " + std::to_string(item.choices.size()));
  if (item.choices.size() > 26) line.fail(field, "more than 26 choices");
  if (item.labels.size() != item.choices.size()) {
    line.fail(field, std::to_string(item.choices.size()) + " texts but " +
                         std::to_string(item.labels.size()) + " labels");
  }
  for (std::size_t i = 0; i < item.labels.size(); ++i) {
    if (std::count(item.labels.begin(), item.labels.end(), item.labels[i]) > 1) {
      line.fail(field, "label '" + item.labels[i] + "' appears twice");
    }
  }
}

// ARC and OpenBookQA: choices {text: [...], label: [...]}, answerKey one of the labels.
void read_labelled_choices(const Line& line, const json& row, MultipleChoiceItem& item) {
  const json& choices = line.member(row, "choices");
  if (!choices.is_object()) line.fail("choices", "expected an object {text: [...], label: [...]}");
  item.choices = line.strings(line.member(choices, "text"), "choices.text");
  item.labels = line.strings(line.member(choices, "label"), "choices.label");
  check_choices(line, item, "choices");
  const std::string key = line.string(row, "answerKey");
  if (key.empty()) return;  // unlabelled
  auto it = std::find(item.labels.begin(), item.labels.end(), key);
  if (it == item.labels.end())
    line.fail("answerKey", "'" + key + "' is not one of the choice labels");
  item.answer = static_cast<int>(it - item.labels.begin());
}

MultipleChoiceItem read_item(const Line& line, const json& row, DatasetFormat format,
                             std::size_t number) {
  if (!row.is_object()) line.fail("(line)", "expected a JSON object");
  MultipleChoiceItem item;
  item.format = format;
  item.id = std::to_string(number);
  switch (format) {
    case DatasetFormat::kArc:
      item.id = line.string(row, "id");
      item.question = line.string(row, "question");
      read_labelled_choices(line, row, item);
      break;
    case DatasetFormat::kOpenBookQa:
      item.id = line.string(row, "id");
      item.question = line.string(row, "question_stem");
      read_labelled_choices(line, row, item);
      break;
    case DatasetFormat::kBoolQ: {
      item.question = line.string(row, "question");
      item.context = line.string(row, "passage");
      if (auto idx = row.find("idx"); idx != row.end()) {
        if (!idx->is_number_integer()) line.fail("idx", "expected an integer");
        item.id = std::to_string(idx->get<long long>());
      }
      item.choices = {"no", "yes"};
      item.labels = letters(2);
      const json& label = line.member(row, "label");
      if (!label.is_number_integer() || label.get<long long>() < -1 || label.get<long long>() > 1) {
        line.fail("label", "expected 0 (false), 1 (true) or -1 (unlabelled)");
      }
      item.answer = static_cast<int>(label.get<long long>());
      break;
    }
    case DatasetFormat::kWinoGrande: {
      item.question = line.string(row, "sentence");
      const std::size_t blank = item.question.find('_');
      if (blank == std::string::npos) line.fail("sentence", "has no '_' blank");
      if (item.question.find('_', blank + 1) != std::string::npos)
        line.fail("sentence", "has more than one '_'");
      item.choices = {line.string(row, "option1"), line.string(row, "option2")};
      item.labels = {"1", "2"};
      const std::string answer = line.string(row, "answer");
      if (answer == "1" || answer == "2") {
        item.answer = answer == "1" ? 0 : 1;
      } else if (!answer.empty()) {
        line.fail("answer", "expected \"1\", \"2\" or \"\" (unlabelled), got \"" + answer + "\"");
      }
      break;
    }
    case DatasetFormat::kMmlu: {
      item.question = line.string(row, "question");
      if (row.contains("subject")) item.context = line.string(row, "subject");
      item.choices = line.strings(line.member(row, "choices"), "choices");
      item.labels = letters(std::min<std::size_t>(item.choices.size(), 26));
      check_choices(line, item, "choices");
      const json& answer = line.member(row, "answer");
      if (!answer.is_number_integer() || answer.get<long long>() < 0 ||
          answer.get<long long>() >= static_cast<long long>(item.choices.size())) {
        line.fail("answer",
                  "expected an integer index from 0 to " + std::to_string(item.choices.size() - 1));
      }
      item.answer = static_cast<int>(answer.get<long long>());
      break;
    }
  }
  return item;
}

}  // namespace

DatasetFormat dataset_format_from_name(std::string_view name) {
  std::string key;
  for (char c : name) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (key == "arc" || key == "ai2_arc" || key == "arc_easy" || key == "arc_challenge")
    return DatasetFormat::kArc;
  if (key == "openbookqa" || key == "obqa") return DatasetFormat::kOpenBookQa;
  if (key == "boolq" || key == "super_glue") return DatasetFormat::kBoolQ;
  if (key == "winogrande") return DatasetFormat::kWinoGrande;
  if (key == "mmlu") return DatasetFormat::kMmlu;
  throw LoadError("unknown dataset format '" + std::string(name) +
                  "' (arc, openbookqa, boolq, winogrande or mmlu)");
}

const char* dataset_format_name(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::kArc:
      return "arc";
    case DatasetFormat::kOpenBookQa:
      return "openbookqa";
    case DatasetFormat::kBoolQ:
      return "boolq";
    case DatasetFormat::kWinoGrande:
      return "winogrande";
    case DatasetFormat::kMmlu:
      return "mmlu";
  }
  return "?";
}

std::vector<MultipleChoiceItem> parse_multiple_choice_jsonl(std::string_view text,
                                                            std::string_view name,
                                                            DatasetFormat format) {
  std::vector<MultipleChoiceItem> items;
  std::size_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row_text = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (!row_text.empty() && row_text.back() == '\r') row_text.remove_suffix(1);
    if (row_text.find_first_not_of(" \t") == std::string_view::npos) continue;
    const Line line(name, number);
    std::size_t bad = 0;
    if (!unicode::is_valid_utf8(row_text, &bad))
      line.fail("(line)", "not valid UTF-8 at column " + std::to_string(bad + 1));
    // parse_untrusted_json names the "file" in its messages; give it "<file>:<line>".
    const json row = parse_untrusted_json(row_text, line.where());
    items.push_back(read_item(line, row, format, number));
  }
  return items;
}

std::vector<MultipleChoiceItem> read_multiple_choice_jsonl(const std::filesystem::path& path,
                                                           DatasetFormat format) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw LoadError(path.string() + ": cannot open dataset file");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_multiple_choice_jsonl(text.str(), path.string(), format);
}

}  // namespace vkmoe
