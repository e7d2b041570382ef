// `vkmoe stats ...`: the softmax-gated MoE regression lab.
//   simulate  write a simulated data set as CSV
//   lse       least-squares fits on the GPU, with Voronoi losses against the truth
//   rates     a sweep of n on a log grid, log-log slopes with 95% intervals, CSV and SVG
//   sample    posterior sampling with HMC on the GPU (tools/cmd_stats_sample.cpp)
//   contraction  posterior contraction over a log grid of n (tools/cmd_stats_contraction.cpp)
//   choose-k  the posterior over K from per-K evidences (tools/cmd_stats_choose_k.cpp)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "engine/stats/lse_experiment.h"
#include "engine/stats/power_law_fit.h"
#include "engine/stats/rate_plot.h"
#include "engine/stats/rate_study.h"
#include "engine/stats/simulate.h"
#include "engine/vk/context.h"
#include "engine/vk/error.h"
#include "tools/command.h"

namespace vkmoe::cli {

int run_stats_sample(std::span<const std::string> args);
int run_stats_contraction(std::span<const std::string> args);
int run_stats_choose_k(std::span<const std::string> args);

namespace {

constexpr const char* kUsage =
    "usage: vkmoe stats simulate --spec FILE --n N [--replication R] [--seed S] [--out FILE]\n"
    "       vkmoe stats lse --spec FILE --n N[,N...] [--k K] [--replications R] [fit options]\n"
    "       vkmoe stats rates --spec FILE [--k K] [--n-min 1000] [--n-max 100000] [--points 10]\n"
    "                         [--replications 20] [--out PREFIX] [fit options]\n"
    "       vkmoe stats sample --spec FILE --n N [--k K] [--chains C] [--warmup W] [--draws D] "
    "...\n"
    "       vkmoe stats contraction --spec FILE [--k K] [--n-min N] [--n-max N] [--points P] ...\n"
    "       vkmoe stats choose-k --spec FILE [--n N[,N...]] [--k-max K] [--prior "
    "poisson|geometric] "
    "...\n"
    "fit options: --atoms 1 (lse: print fitted atoms) --random-starts S (1) --jitter J (0.1, "
    "near-truth start) --adam-iterations A\n"
    "             (1000) --learning-rate L (0.02) --lm-iterations M (60) --seed S (1)\n";

// --name value pairs; every name must be one the command knows.
class Options {
 public:
  Options(std::span<const std::string> args, std::initializer_list<const char*> known) {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& name = args[i];
      bool ok = name.rfind("--", 0) == 0;
      bool found = false;
      for (const char* k : known) found = found || name == k;
      if (!ok || !found) throw Error("unknown option '" + name + "'\n" + kUsage);
      if (i + 1 >= args.size()) throw Error(name + " needs a value");
      values_[name] = args[++i];
    }
  }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string text(const std::string& name) const {
    if (!has(name)) throw Error("missing " + name + "\n" + kUsage);
    return values_.at(name);
  }
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    try {
      size_t used = 0;
      const double value = std::stod(values_.at(name), &used);
      if (used == values_.at(name).size()) return value;
    } catch (const std::exception&) {
    }
    throw Error(name + ": '" + values_.at(name) + "' is not a number");
  }
  uint32_t count(const std::string& name, uint32_t fallback) const {
    const double value = number(name, fallback);
    if (value < 0 || value != static_cast<double>(static_cast<uint32_t>(value))) {
      throw Error(name + ": '" + values_.at(name) + "' is not a non-negative integer");
    }
    return static_cast<uint32_t>(value);
  }
  std::vector<uint32_t> counts(const std::string& name) const {
    std::vector<uint32_t> out;
    const std::string all = text(name);
    for (size_t start = 0; start <= all.size();) {
      const size_t comma = std::min(all.find(',', start), all.size());
      const std::string item = all.substr(start, comma - start);
      try {
        out.push_back(static_cast<uint32_t>(std::stoul(item)));
      } catch (const std::exception&) {
        throw Error(name + ": '" + item + "' is not a sample size");
      }
      start = comma + 1;
    }
    return out;
  }

 private:
  std::map<std::string, std::string> values_;
};

const std::initializer_list<const char*> kFitOptions = {"--spec",          "--k",
                                                        "--replications",  "--random-starts",
                                                        "--jitter",        "--adam-iterations",
                                                        "--learning-rate", "--lm-iterations",
                                                        "--seed",          "--n",
                                                        "--n-min",         "--n-max",
                                                        "--points",        "--out",
                                                        "--atoms"};

stats::LseExperimentConfig experiment_config(const Options& options) {
  stats::LseExperimentConfig config;
  config.spec = stats::load_regression_spec(options.text("--spec"));
  config.experts = options.count("--k", 0);
  config.replications = options.count("--replications", 1);
  config.random_starts = options.count("--random-starts", 1);
  config.near_truth_jitter = options.number("--jitter", 0.1);
  config.seed = options.count("--seed", 1);
  config.optimiser.adam.iterations = options.count("--adam-iterations", 1000);
  config.optimiser.adam.learning_rate = static_cast<float>(options.number("--learning-rate", 0.02));
  config.optimiser.adam.final_learning_rate = config.optimiser.adam.learning_rate * 0.01f;
  config.optimiser.refine.iterations = options.count("--lm-iterations", 60);
  return config;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_simulate(std::span<const std::string> args) {
  const Options options(args, {"--spec", "--n", "--replication", "--seed", "--out"});
  const stats::RegressionSpec spec = stats::load_regression_spec(options.text("--spec"));
  const stats::Dataset data = stats::simulate(
      spec, options.count("--n", 0), options.count("--replication", 0), options.count("--seed", 1));
  if (data.samples == 0) throw Error("--n must be at least 1");
  std::string csv;
  for (uint32_t j = 0; j < data.dimension; ++j) csv += "x" + std::to_string(j + 1) + ",";
  csv += "y\n";
  char cell[32];
  for (uint32_t i = 0; i < data.samples; ++i) {
    for (uint32_t j = 0; j <= data.dimension; ++j) {
      std::snprintf(cell, sizeof(cell), "%.9g%c", data.row(i)[j], j == data.dimension ? '\n' : ',');
      csv += cell;
    }
  }
  if (options.has("--out")) {
    stats::write_file_atomically(options.text("--out"), csv);
    std::fprintf(stderr, "wrote %u samples to %s\n", data.samples, options.text("--out").c_str());
  } else {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
  }
  return 0;
}

// Centred atoms (see voronoi_loss.h): mass exp(beta0), beta1, a, b, and the cell.
void print_atoms(const stats::MoeModel& model, const std::vector<uint32_t>& cells) {
  const stats::MoeModel centred = stats::centre_gates(model);
  for (size_t i = 0; i < centred.atoms.size(); ++i) {
    const stats::ExpertAtom& atom = centred.atoms[i];
    std::printf("    atom %zu: mass %.4f beta1 [", i, std::exp(atom.gate_bias));
    for (double v : atom.gate_slope) std::printf(" %.4f", v);
    std::printf(" ] a [");
    for (double v : atom.expert_slope) std::printf(" %.4f", v);
    std::printf(" ] b %.4f", atom.expert_bias);
    if (i < cells.size()) std::printf("  cell %u", cells[i]);
    std::printf("\n");
  }
}

void print_records(const std::vector<stats::LseFitRecord>& records, bool atoms) {
  std::printf("%8s %4s %5s %12s %11s %11s %11s %11s %11s\n", "n", "rep", "start", "objective",
              "voronoi", "exact", "overfit", "mass", "f_L2_err");
  for (const stats::LseFitRecord& r : records) {
    std::printf("%8u %4u %5u %12.6g %11.4g %11.4g %11.4g %11.4g %11.4g\n", r.samples, r.replication,
                r.best_start, r.objective, r.loss.total(), r.loss.exact, r.loss.overfit,
                r.loss.mass, r.function_error);
    if (atoms) print_atoms(r.fitted, r.loss.cell_of_atom);
  }
}

int run_lse(std::span<const std::string> args) {
  const Options options(args, kFitOptions);
  stats::LseExperimentConfig config = experiment_config(options);
  config.sample_sizes = options.counts("--n");
  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<stats::LseFitRecord> records = stats::run_lse_experiment(context, config);
  const double elapsed = seconds_since(start);
  if (options.count("--atoms", 0) != 0) {
    std::printf("truth (centred):\n");
    print_atoms(config.spec.truth, {});
  }
  print_records(records, options.count("--atoms", 0) != 0);
  const uint32_t fits = static_cast<uint32_t>(records.size()) * stats::starts_per_problem(config);
  std::printf("%u fits (%zu problems x %u starts) in %.2f s on %s\n", fits, records.size(),
              stats::starts_per_problem(config), elapsed, context.info().name.c_str());
  return 0;
}

int run_rates(std::span<const std::string> args) {
  const Options options(args, kFitOptions);
  stats::LseExperimentConfig config = experiment_config(options);
  config.replications = options.count("--replications", 20);
  config.sample_sizes =
      stats::log_grid(options.count("--n-min", 1000), options.count("--n-max", 100000),
                      options.count("--points", 10));
  const std::string prefix = options.has("--out") ? options.text("--out") : "rates";
  vk::Context context;
  const auto start = std::chrono::steady_clock::now();
  const std::vector<stats::LseFitRecord> records = stats::run_lse_experiment(context, config);
  const double elapsed = seconds_since(start);
  const std::vector<stats::RateSeries> series =
      stats::rate_series(records, config.spec.truth.family);
  const uint32_t k = config.experts == 0 ? config.spec.truth.experts() : config.experts;
  const std::string title = std::string(stats::family_name(config.spec.truth.family)) +
                            " experts, k* = " + std::to_string(config.spec.truth.experts()) +
                            ", k = " + std::to_string(k) + ", " +
                            std::to_string(config.replications) + " replications";
  stats::write_records_csv(prefix + "_fits.csv", records);
  stats::write_rates_csv(prefix + "_rates.csv", series);
  stats::write_rate_plot(prefix + ".svg", series, title);
  std::printf("%s: %zu fits in %.1f s on %s\n", title.c_str(),
              records.size() * stats::starts_per_problem(config), elapsed,
              context.info().name.c_str());
  std::fputs(stats::rate_table(series).c_str(), stdout);
  std::printf("wrote %s_fits.csv, %s_rates.csv, %s.svg\n", prefix.c_str(), prefix.c_str(),
              prefix.c_str());
  return 0;
}

}  // namespace

int run_stats(std::span<const std::string> args) {
  if (args.empty()) throw Error(kUsage);
  const std::string& sub = args[0];
  if (sub == "simulate") return run_simulate(args.subspan(1));
  if (sub == "lse") return run_lse(args.subspan(1));
  if (sub == "rates") return run_rates(args.subspan(1));
  if (sub == "sample") return run_stats_sample(args.subspan(1));
  if (sub == "contraction") return run_stats_contraction(args.subspan(1));
  if (sub == "choose-k") return run_stats_choose_k(args.subspan(1));
  throw Error("unknown stats command '" + sub + "'\n" + kUsage);
}

}  // namespace vkmoe::cli
