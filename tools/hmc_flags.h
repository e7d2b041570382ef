// The HMC flags the sampling `vkmoe stats` commands share (--chains, --warmup, --draws,
// --leapfrog, --seed): their text as parse_options fills it, with each command's defaults, and
// the settings they make.
#pragma once

#include <string>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "tools/command_options.h"

namespace vkmoe::cli {

struct HmcFlags {
  std::string chains, warmup, draws, leapfrog = "8", seed = "1";

  // Appends the five flags to a command's option table (parse_option_table).
  void add_options(std::vector<ValueOption>& table);
};

// The flags over stats::HmcSettings' other defaults; std::invalid_argument naming the flag for
// text that is not a whole number.
stats::HmcSettings parse_hmc_flags(const HmcFlags& flags);

}  // namespace vkmoe::cli
