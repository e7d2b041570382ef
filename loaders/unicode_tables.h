// Tables generated from the Unicode Character Database by tools/gen_unicode_tables.py.
// Only loaders/unicode*.cpp read them; everyone else asks loaders/unicode.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vkmoe::unicode_tables {

struct CodePointRange {
  std::uint32_t first, last;  // inclusive
};
struct QuickCheckRange {
  std::uint32_t first, last;  // inclusive
  std::uint32_t value;        // 1 = No, 2 = Maybe (absent = Yes)
};
struct Decomposition {
  std::uint32_t code_point, first, second;  // second == 0: singleton decomposition
};
struct Composition {
  std::uint32_t first, second, composite;  // sorted by (first, second)
};

extern const char kUnicodeVersion[];
// (start << 5 | GeneralCategory): the category holds from start to the next entry's start.
extern const std::uint32_t kCategoryRuns[];
extern const std::size_t kCategoryRunsSize;
// (start << 8 | canonical combining class), same run layout.
extern const std::uint32_t kCombiningClassRuns[];
extern const std::size_t kCombiningClassRunsSize;
extern const CodePointRange kWhiteSpace[];
extern const std::size_t kWhiteSpaceSize;
extern const QuickCheckRange kNfcQuickCheck[];
extern const std::size_t kNfcQuickCheckSize;
extern const Decomposition kCanonicalDecompositions[];  // sorted by code_point
extern const std::size_t kCanonicalDecompositionsSize;
extern const Composition kCanonicalCompositions[];  // primary composites only
extern const std::size_t kCanonicalCompositionsSize;

}  // namespace vkmoe::unicode_tables
