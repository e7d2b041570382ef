#include "tools/demo_inputs.h"

#include "loaders/load_error.h"
#include "tools/model_loading.h"

#ifndef VKMOE_SOURCE_DIR
#define VKMOE_SOURCE_DIR "."
#endif

namespace vkmoe::cli {

namespace {

struct SplitName {
  const char* name;
  const char* title;
};

constexpr SplitName kEvaluationSplits[] = {{"test", "ID test"},
                                           {"ood_shift", "OOD: shifted inputs"},
                                           {"ood_template", "OOD: other template"}};

DemoSplit read_split(const std::filesystem::path& data, const SplitName& split, std::size_t limit,
                     const Tokenizer& tokenizer) {
  DemoSplit s;
  s.name = split.name;
  s.title = split.title;
  s.file = data / (s.name + ".jsonl");
  if (!std::filesystem::is_regular_file(s.file)) {
    throw LoadError(s.file.string() +
                    ": split file not found (vkmoe demo reads train, validation, test, ood_shift "
                    "and ood_template .jsonl from --data DIR)");
  }
  s.source = read_multiple_choice_jsonl(s.file, DatasetFormat::kArc);
  s.available = s.source.size();
  if (limit != 0 && s.source.size() > limit) s.source.resize(limit);
  if (s.source.empty()) throw LoadError(s.file.string() + ": no items");
  for (const MultipleChoiceItem& item : s.source) {
    s.items.push_back(eval::tokenize_item(item, tokenizer, eval::ScoringMethod::kAnswerLabels));
  }
  return s;
}

bool same_tokens(const eval::TokenizedItem& a, const eval::TokenizedItem& b) {
  if (a.choices.size() != b.choices.size()) return false;
  for (std::size_t c = 0; c < a.choices.size(); ++c) {
    if (a.choices[c].context != b.choices[c].context ||
        a.choices[c].continuation != b.choices[c].continuation) {
      return false;
    }
  }
  return true;
}

// The ensemble averages probabilities item by item, so every member must score the very token
// ids seed0 does: the same vocabulary size and the same tokenization of every item used.
void check_same_vocabulary(const DemoData& d, const std::filesystem::path& member,
                           const ModelFiles& files, const ModelFiles& first) {
  if (files.config.vocab_size != first.config.vocab_size) {
    throw LoadError((member / "config.json").string() + ": vocab_size " +
                    std::to_string(files.config.vocab_size) + " but " +
                    (d.members.front() / "config.json").string() + " has " +
                    std::to_string(first.config.vocab_size) +
                    ": the ensemble members must share one vocabulary");
  }
  const Tokenizer tokenizer = open_model_tokenizer(files, {}, "demo");
  std::vector<const DemoSplit*> splits{&d.train, &d.validation};
  for (const DemoSplit& s : d.evaluation) splits.push_back(&s);
  for (const DemoSplit* s : splits) {
    for (std::size_t i = 0; i < s->items.size(); ++i) {
      const eval::TokenizedItem t =
          eval::tokenize_item(s->source[i], tokenizer, eval::ScoringMethod::kAnswerLabels);
      if (!same_tokens(t, s->items[i])) {
        throw LoadError((member / "tokenizer.json").string() + ": tokenizes " + s->name +
                        " item '" + t.id + "' differently from " +
                        (d.members.front() / "tokenizer.json").string() +
                        ": the ensemble members must share one vocabulary");
      }
    }
  }
}

}  // namespace

std::filesystem::path demo_asset_dir(const std::filesystem::path& given,
                                     const std::filesystem::path& relative) {
  if (!given.empty()) return given;
  if (std::filesystem::exists(relative)) return relative;
  return std::filesystem::path(VKMOE_SOURCE_DIR) / relative;
}

DemoData load_demo_data(const DemoDataOptions& options) {
  const std::filesystem::path models = demo_asset_dir(options.models, "assets/demo/models");
  const std::filesystem::path data = demo_asset_dir(options.data, "assets/demo/data");
  DemoData d;
  for (int k = 0; k < kEnsembleMembers; ++k) {
    const std::filesystem::path member = models / ("seed" + std::to_string(k));
    if (!std::filesystem::is_directory(member)) {
      throw LoadError(member.string() +
                      ": no such model folder (vkmoe demo needs seed0..seed3 in --models DIR: "
                      "seed0 is the MAP model, all four the deep ensemble)");
    }
    d.members.push_back(member);
  }
  const ModelFiles first = open_model_with_weights(d.members.front().string());
  const Tokenizer tokenizer = open_model_tokenizer(first, {}, "demo");
  d.train = read_split(data, {"train", "train"}, options.train_limit, tokenizer);
  d.validation =
      read_split(data, {"validation", "validation"}, options.validation_limit, tokenizer);
  for (const SplitName& split : kEvaluationSplits) {
    d.evaluation.push_back(read_split(data, split, options.eval_limit, tokenizer));
  }
  for (std::size_t k = 1; k < d.members.size(); ++k) {
    check_same_vocabulary(d, d.members[k], open_model_with_weights(d.members[k].string()), first);
  }
  return d;
}

}  // namespace vkmoe::cli
