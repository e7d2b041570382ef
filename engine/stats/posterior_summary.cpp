#include "engine/stats/posterior_summary.h"

#include <algorithm>
#include <cmath>

#include "engine/stats/mcmc_diagnostics.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

std::vector<double> parameter_draws(const PosteriorDraws& draws, uint32_t q) {
  std::vector<double> out;
  out.reserve(size_t{draws.chains} * draws.draws);
  for (uint32_t c = 0; c < draws.chains; ++c) {
    for (uint32_t t = 0; t < draws.draws; ++t) out.push_back(draws.value(c, t, q));
  }
  return out;
}

double quantile(std::vector<double> values, double probability) {
  if (values.empty()) throw Error("quantile of no values");
  std::sort(values.begin(), values.end());
  const double at = probability * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(at));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (at - static_cast<double>(below)) * (values[above] - values[below]);
}

std::vector<ParameterSummary> summarise_draws(const BayesMoe& model, const PosteriorDraws& draws,
                                              const std::vector<uint8_t>& free) {
  const std::vector<std::string> names = parameter_names(model);
  std::vector<ParameterSummary> out;
  for (uint32_t q = 0; q < draws.parameters; ++q) {
    if (!free[q]) continue;
    std::vector<double> x = parameter_draws(draws, q);
    ParameterSummary s;
    s.name = names[q];
    s.index = q;
    s.rhat = rank_normalized_rhat(x, draws.chains);
    s.ess_bulk = bulk_ess(x, draws.chains);
    const bool variance = q % model.stride() == model.stride() - 1;
    if (variance) {
      s.name = "sigma" + s.name.substr(s.name.find('['));
      for (double& v : x) v = std::exp(0.5 * v);
    }
    double sum = 0;
    for (double v : x) sum += v;
    s.mean = sum / static_cast<double>(x.size());
    double ss = 0;
    for (double v : x) ss += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(x.size() - 1));
    s.q05 = quantile(x, 0.05);
    s.q95 = quantile(x, 0.95);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vkmoe::stats
