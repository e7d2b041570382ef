#include "engine/bayes/fisher_type.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

std::string_view fisher_type_name(FisherType f) {
  switch (f) {
    case FisherType::kExact:
      return "exact";
    case FisherType::kMc:
      return "mc";
    case FisherType::kEmpirical:
      return "empirical";
  }
  return "?";
}

FisherType parse_fisher_type(std::string_view text) {
  for (FisherType f : {FisherType::kExact, FisherType::kMc, FisherType::kEmpirical}) {
    if (text == fisher_type_name(f)) return f;
  }
  throw BayesError("--fisher: '" + std::string(text) + "' is not one of exact, mc, empirical");
}

}  // namespace vkmoe::bayes
