#include <vector>

#include "tools/bench/bench_case.h"

namespace vkmoe::bench {

namespace {
std::vector<CaseFactory>& factories() {
  static std::vector<CaseFactory> registered;
  return registered;
}
}  // namespace

int register_cases(CaseFactory factory) {
  factories().push_back(factory);
  return static_cast<int>(factories().size());
}

std::vector<BenchCase> all_cases(bool quick) {
  std::vector<BenchCase> cases;
  for (CaseFactory factory : factories()) {
    for (BenchCase& c : factory(quick)) cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vkmoe::bench
