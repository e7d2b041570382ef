// A self-contained SVG of convergence rates: log-log axes, the mean loss at every n as
// points, and each fitted power law as a line, with slopes and intervals in the legend.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/stats/rate_study.h"

namespace vkmoe::stats {

std::string rate_plot_svg(const std::vector<RateSeries>& series, const std::string& title);

// rate_plot_svg written through write_file_atomically.
void write_rate_plot(const std::filesystem::path& path, const std::vector<RateSeries>& series,
                     const std::string& title);

}  // namespace vkmoe::stats
