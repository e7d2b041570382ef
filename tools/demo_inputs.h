// What `vkmoe demo` reads before it touches the device (issue 7): the four fine-tuned seeds of
// the demo model (seed0 is the MAP model; all four are the deep ensemble) and the five splits of
// the demo task, tokenized once. Everything a run can trip over — a missing folder or split,
// members that do not share a vocabulary — is found here, before minutes of device work.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/eval/choice_tokens.h"
#include "loaders/dataset.h"

namespace vkmoe::cli {

inline constexpr int kEnsembleMembers = 4;  // assets/demo/models/seed0..seed3

struct DemoSplit {
  std::string name;                        // the file's stem: "test", "ood_shift", ...
  std::string title;                       // what it is, for tables: "ID test", ...
  std::filesystem::path file;              // <data>/<name>.jsonl
  std::size_t available = 0;               // items in the file
  std::vector<MultipleChoiceItem> source;  // the first `limit` of them (all for limit 0)
  std::vector<eval::TokenizedItem> items;  // `source` tokenized by seed0's tokenizer
};

struct DemoData {
  std::vector<std::filesystem::path> members;  // seed0..seed3
  DemoSplit train, validation;
  std::vector<DemoSplit> evaluation;  // test, ood_shift, ood_template
};

struct DemoDataOptions {
  std::filesystem::path models, data;  // as given; empty: the defaults below
  std::size_t train_limit = 0, validation_limit = 0, eval_limit = 0;  // 0: the whole split
};

// `given` when not empty; else `relative` (e.g. "assets/demo/models") under the current
// directory when it exists there, else under the source tree vkmoe was built from, so
// `./build/tools/vkmoe demo` works from the repository root and from the build folder alike.
std::filesystem::path demo_asset_dir(const std::filesystem::path& given,
                                     const std::filesystem::path& relative);

// Throws LoadError naming the file at fault: a missing model folder or split file, a split
// without items, members whose configs or tokenizers disagree on the vocabulary (an item they
// tokenize differently), and whatever the dataset reader and tokenizer refuse.
DemoData load_demo_data(const DemoDataOptions& options);

}  // namespace vkmoe::cli
