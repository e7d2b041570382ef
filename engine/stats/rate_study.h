// Convergence rates from a least-squares study: the mean and the median of each loss over
// replications at every sample size, and their fitted log-log slopes with 95% intervals. The
// theory speaks of expected losses (the mean); the median shows the typical replication, which
// a few fits stuck in another basin cannot move.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/stats/lse_experiment.h"
#include "engine/stats/power_law_fit.h"

namespace vkmoe::stats {

struct RateSeries {
  std::string name;    // "voronoi_loss", "function_l2_error", ...
  std::string theory;  // the slope the theory predicts, in words
  std::vector<double> samples;
  std::vector<double> mean;
  PowerLawFit fit;  // of the means
  std::vector<double> median;
  PowerLawFit median_fit;  // of the medians; unset (points = 0) if a median is not positive
};

// Mean and median over replications of one loss at every sample size (`by_size`: n -> the
// replications' values), with their fitted slopes. Empty (no value) when a mean is not
// positive or there are fewer than 3 sizes; the median fit is left unset when a median is not
// positive.
std::optional<RateSeries> summarise_rate(std::string name, std::string theory,
                                         const std::map<uint32_t, std::vector<double>>& by_size);

// voronoi_loss (D_1 or D_2), function_l2_error, exact_atom_error (largest |d beta1| + |d eta|
// over exact-fitted cells) and overfit_atom_error (over over-fitted cells); a series whose
// means are not all positive (no over-fitted cell when k = k*) is left out.
std::vector<RateSeries> rate_series(const std::vector<LseFitRecord>& records, ExpertFamily family);

// The printed slope table: per series the slope of the means with its 95% interval, the slope
// of the medians with its interval ("-" when unset), and the theory's slope; one line each,
// after a header.
std::string rate_table(const std::vector<RateSeries>& series);

// One row per fit: n, replication, best start, objective, the loss parts, function error.
void write_records_csv(const std::filesystem::path& path, const std::vector<LseFitRecord>& records);
// One row per series: name, slope, interval, standard error, intercept, points (of the means),
// the median slope and its interval, theory.
void write_rates_csv(const std::filesystem::path& path, const std::vector<RateSeries>& series);
// Writes `text` to path.tmp and renames it over `path`, so readers never see half a file.
void write_file_atomically(const std::filesystem::path& path, const std::string& text);

}  // namespace vkmoe::stats
