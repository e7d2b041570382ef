#include "tools/hmc_flags.h"

#include <cstdint>

namespace vkmoe::cli {

void HmcFlags::add_options(std::vector<ValueOption>& table) {
  table.insert(table.end(), {{"--chains", &chains},
                             {"--warmup", &warmup},
                             {"--draws", &draws},
                             {"--leapfrog", &leapfrog},
                             {"--seed", &seed}});
}

stats::HmcSettings parse_hmc_flags(const HmcFlags& flags) {
  const auto whole = [](const char* flag, const std::string& text) {
    return static_cast<uint32_t>(parse_whole(flag, text));
  };
  stats::HmcSettings settings;
  settings.chains = whole("--chains", flags.chains);
  settings.warmup = whole("--warmup", flags.warmup);
  settings.draws = whole("--draws", flags.draws);
  settings.leapfrog_steps = whole("--leapfrog", flags.leapfrog);
  settings.seed = static_cast<uint64_t>(parse_whole("--seed", flags.seed));
  return settings;
}

}  // namespace vkmoe::cli
