#include "engine/stats/rate_study.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

bool strongly_identifiable(ExpertFamily family) {
  return family == ExpertFamily::sigmoid || family == ExpertFamily::tanh;
}

}  // namespace

std::vector<RateSeries> rate_series(const std::vector<LseFitRecord>& records, ExpertFamily family) {
  struct Metric {
    const char* name;
    std::function<double(const LseFitRecord&)> value;
    std::string theory;
  };
  const bool strong = strongly_identifiable(family);
  const std::vector<Metric> metrics = {
      {"voronoi_loss", [](const LseFitRecord& r) { return r.loss.total(); },
       strong ? "-1/2 (D1 or D2)" : "slower than any power (1/log n)"},
      {"function_l2_error", [](const LseFitRecord& r) { return r.function_error; },
       "-1/2 (up to log n)"},
      {"exact_atom_error", [](const LseFitRecord& r) { return r.loss.exact_atom_distance; },
       strong ? "-1/2" : "slower than any power"},
      {"overfit_atom_error", [](const LseFitRecord& r) { return r.loss.overfit_atom_distance; },
       strong ? "-1/4" : "slower than any power"},
  };
  std::vector<RateSeries> all;
  for (const Metric& metric : metrics) {
    std::map<uint32_t, std::vector<double>> by_size;
    for (const LseFitRecord& record : records)
      by_size[record.samples].push_back(metric.value(record));
    if (auto series = summarise_rate(metric.name, metric.theory, by_size)) {
      all.push_back(std::move(*series));
    }
  }
  return all;
}

std::optional<RateSeries> summarise_rate(std::string name, std::string theory,
                                         const std::map<uint32_t, std::vector<double>>& by_size) {
  RateSeries series;
  series.name = std::move(name);
  series.theory = std::move(theory);
  bool positive = true, median_positive = true;
  for (const auto& [n, group] : by_size) {
    std::vector<double> values = group;
    const double mean =
        std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    std::sort(values.begin(), values.end());
    const std::size_t half = values.size() / 2;
    const double median =
        values.size() % 2 == 1 ? values[half] : 0.5 * (values[half - 1] + values[half]);
    positive = positive && mean > 0;
    median_positive = median_positive && median > 0;
    series.samples.push_back(n);
    series.mean.push_back(mean);
    series.median.push_back(median);
  }
  if (!positive || series.samples.size() < 3) return std::nullopt;
  series.fit = fit_power_law(series.samples, series.mean);
  if (median_positive) series.median_fit = fit_power_law(series.samples, series.median);
  return series;
}

std::string rate_table(const std::vector<RateSeries>& series) {
  char line[256];
  std::snprintf(line, sizeof(line), "%-20s %8s %20s %14s %20s   %s\n", "series", "slope",
                "95% interval", "median slope", "95% interval", "theory");
  std::string text = line;
  for (const RateSeries& s : series) {
    std::snprintf(line, sizeof(line), "%-20s %8.3f   [%7.3f, %7.3f]", s.name.c_str(), s.fit.slope,
                  s.fit.slope_low, s.fit.slope_high);
    text += line;
    if (s.median_fit.points > 0) {
      std::snprintf(line, sizeof(line), " %14.3f   [%7.3f, %7.3f]", s.median_fit.slope,
                    s.median_fit.slope_low, s.median_fit.slope_high);
    } else {
      std::snprintf(line, sizeof(line), " %14s %20s", "-", "-");
    }
    text += line + ("   " + s.theory + "\n");
  }
  return text;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(temporary.string() + ": cannot open for writing");
    out << text;
    if (!out.flush()) throw Error(temporary.string() + ": write failed");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw Error(path.string() + ": cannot rename from .tmp: " + error.message());
}

void write_records_csv(const std::filesystem::path& path,
                       const std::vector<LseFitRecord>& records) {
  std::string text =
      "n,replication,best_start,objective,voronoi_loss,exact,overfit,mass,exact_atom_error,"
      "overfit_atom_error,function_l2_error\n";
  for (const LseFitRecord& r : records) {
    text += std::to_string(r.samples) + "," + std::to_string(r.replication) + "," +
            std::to_string(r.best_start);
    for (double v : {r.objective, r.loss.total(), r.loss.exact, r.loss.overfit, r.loss.mass,
                     r.loss.exact_atom_distance, r.loss.overfit_atom_distance, r.function_error}) {
      text += format(",%.9g", v);
    }
    text += "\n";
  }
  write_file_atomically(path, text);
}

void write_rates_csv(const std::filesystem::path& path, const std::vector<RateSeries>& series) {
  std::string text =
      "series,slope,slope_low_95,slope_high_95,slope_se,intercept,points,median_slope,"
      "median_slope_low_95,median_slope_high_95,theory\n";
  for (const RateSeries& s : series) {
    text += s.name + format(",%.6f", s.fit.slope) + format(",%.6f", s.fit.slope_low) +
            format(",%.6f", s.fit.slope_high) + format(",%.6f", s.fit.slope_standard_error) +
            format(",%.6f", s.fit.intercept) + "," + std::to_string(s.fit.points);
    if (s.median_fit.points > 0) {
      text += format(",%.6f", s.median_fit.slope) + format(",%.6f", s.median_fit.slope_low) +
              format(",%.6f", s.median_fit.slope_high);
    } else {
      text += ",,,";
    }
    text += ",\"" + s.theory + "\"\n";
  }
  write_file_atomically(path, text);
}

}  // namespace vkmoe::stats
