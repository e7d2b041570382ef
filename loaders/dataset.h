// Multiple-choice evaluation sets read from JSONL in the field layouts the Hugging Face hub
// uses: ARC (ai2_arc), OpenBookQA, BoolQ (super_glue), WinoGrande and MMLU (cais/mmlu), all
// into one item type that the prompt templates (loaders/prompt_template.h) turn into text.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vkmoe {

enum class DatasetFormat { kArc, kOpenBookQa, kBoolQ, kWinoGrande, kMmlu };

struct MultipleChoiceItem {
  DatasetFormat format = DatasetFormat::kArc;
  std::string id;        // the file's id (ARC, OBQA), idx (BoolQ), else "<line number>"
  std::string question;  // ARC question, OBQA question_stem, BoolQ question, MMLU question,
                         // WinoGrande sentence (with its "_" blank)
  std::string context;   // BoolQ passage; MMLU subject ("abstract_algebra"); else empty
  std::vector<std::string> choices;  // BoolQ: {"no", "yes"}; WinoGrande: {option1, option2}
  std::vector<std::string> labels;   // as the file names them ("A".., "1"..); BoolQ and MMLU
                                     // get "A", "B", ...; WinoGrande "1", "2"
  int answer = -1;  // index into choices; -1 when the file gives none (test splits)
};

// "arc", "ai2_arc", "arc_easy", "arc_challenge", "openbookqa", "obqa", "boolq", "super_glue",
// "winogrande", "mmlu" (case-insensitive). Throws LoadError for anything else.
DatasetFormat dataset_format_from_name(std::string_view name);
const char* dataset_format_name(DatasetFormat format);

// Reads a JSONL file: one JSON object per line, blank lines skipped. Throws LoadError
// "<file>:<line>: <field>: <what>" for a line that is not JSON or lacks or mistypes a field.
std::vector<MultipleChoiceItem> read_multiple_choice_jsonl(const std::filesystem::path& path,
                                                           DatasetFormat format);
// The same from text; `name` stands in for the path in messages.
std::vector<MultipleChoiceItem> parse_multiple_choice_jsonl(std::string_view text,
                                                            std::string_view name,
                                                            DatasetFormat format);

}  // namespace vkmoe
