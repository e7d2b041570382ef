// Which of the rows KfacAccumulator gathered on the device belong to each routed expert of one
// treated layer, in the order they are summed: example order, then (for G) pass order, then
// token order. The fit's result depends on that order through f32 rounding, so fixing it here
// is what makes a resumed fit reproduce an uninterrupted one bit for bit.
//
// Rows are numbered as they lie in the device buffer of the layer, which holds the a rows from its
// start and the g rows from its end (kfac.h): an example's a rows are a_first + entry (entry =
// token · top_k + slot, as moe_router numbers them), its g rows lie g_top − (pass · entries +
// entry) rows before the end. The g numbers are thus independent of how many rows follow.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkmoe::bayes {

enum class KfacFactor { kA, kG };

struct ExampleRows {
  // moe_router's lists, each expert's part sorted: expert e routed entries
  // lists[e · stride .. e · stride + counts[e]).
  std::span<const uint32_t> counts, lists;
  uint32_t stride = 0;
  uint32_t entries = 0;  // rows per pass
  uint32_t passes = 1;
  uint32_t a_first = 0;  // a rows gathered before this example
  uint32_t g_top = 0;    // g rows gathered before this example and with it
};

class ExpertRowLists {
 public:
  explicit ExpertRowLists(std::int64_t experts);

  void add(const ExampleRows& example);
  void clear();

  // Routed token occurrences of expert e since the last clear: its a rows (M of the factors).
  std::int64_t tokens(std::int64_t e) const;
  // Expert e's rows of `factor`, in summing order: a row numbers from the start, g row numbers
  // counted from the end as above.
  const std::vector<uint32_t>& rows(KfacFactor factor, std::int64_t e) const;

 private:
  std::vector<std::vector<uint32_t>> a_, g_;  // per expert
};

}  // namespace vkmoe::bayes
