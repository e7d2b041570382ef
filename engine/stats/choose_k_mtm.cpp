#include "engine/stats/choose_k_mtm.h"

#include "engine/vk/error.h"

namespace vkmoe::stats {

MtmChoice choose_k_by_mtm(vk::Context& context, const RegressionSpec& spec, const Dataset& data,
                          const BayesPrior& model_prior, const MtmChooseSettings& settings) {
  if (settings.k_bar == 0) throw Error("choose K (mtm): K-bar must be at least 1");
  if (!(settings.concentration > 0)) {
    throw Error("choose K (mtm): the Dirichlet concentration must be positive");
  }
  BayesPrior prior = model_prior;
  prior.weight_concentration = settings.concentration;
  HmcProblem problem;
  problem.model = model_for_spec(spec, settings.k_bar, prior);
  problem.data = &data;
  const PosteriorDraws draws = sample_posterior_gpu(context, problem, settings.hmc);
  MtmChoice out;
  out.thresholds = mtm_thresholds(data.samples, settings.merge_scale, settings.weight_scale);
  out.posterior = mtm_k_posterior(problem.model, data, draws, out.thresholds);
  return out;
}

}  // namespace vkmoe::stats
