// libFuzzer: JSONL multiple-choice reading in every layout, then the prompt templates. Any
// input must end in items or a LoadError naming the line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "loaders/dataset.h"
#include "loaders/load_error.h"
#include "loaders/prompt_template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using vkmoe::DatasetFormat;
  for (DatasetFormat format :
       {DatasetFormat::kArc, DatasetFormat::kOpenBookQa, DatasetFormat::kBoolQ,
        DatasetFormat::kWinoGrande, DatasetFormat::kMmlu}) {
    try {
      for (const vkmoe::MultipleChoiceItem& item :
           vkmoe::parse_multiple_choice_jsonl(text, "fuzz.jsonl", format)) {
        if (item.answer < -1 || item.answer >= static_cast<int>(item.choices.size())) std::abort();
        if (vkmoe::continuation_requests(item).size() != item.choices.size()) std::abort();
        (void)vkmoe::answer_label_prompt(item);
      }
    } catch (const vkmoe::LoadError&) {
    }
  }
  return 0;
}
