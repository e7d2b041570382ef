// The HTML form of the demo report: one page that opens offline, in any browser, years later —
// hence inline CSS and SVG only, no scripts, fonts or images from elsewhere.
#include <algorithm>
#include <cstdio>

#include "engine/eval/reliability_svg.h"
#include "engine/eval/xml_escape.h"
#include "tools/demo_report.h"

namespace vkmoe::cli {

namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; max-width: 1300px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: bold; }
tr.ours td:first-child { font-weight: bold; }
.diagrams { overflow-x: auto; }
.diagrams svg { max-width: 100%; height: auto; }
ul.settings li { margin: 0.2em 0; }
)";

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", v);
  return buffer;
}

// One table of metrics; the best value of each column (highest ACC, lowest ECE, NLL, Brier) is
// bold. Rows carry data-method, cells data-metric, so a test can read the numbers back.
std::string metrics_table(const std::string& split, const std::string& kind,
                          const std::vector<MethodMetrics>& rows) {
  const auto value = [](const eval::ClassificationMetrics& m, int column) {
    return column == 0 ? m.accuracy : column == 1 ? m.ece : column == 2 ? m.nll : m.brier;
  };
  const char* keys[] = {"accuracy", "ece", "nll", "brier"};
  double best[4];
  for (int c = 0; c < 4; ++c) {
    best[c] = value(rows.front().metrics, c);
    for (const MethodMetrics& m : rows) {
      best[c] =
          c == 0 ? std::max(best[c], value(m.metrics, c)) : std::min(best[c], value(m.metrics, c));
    }
  }
  std::string html = "<table class=\"" + kind + "\" data-split=\"" + eval::xml_escaped(split) +
                     "\">\n<tr><th>method</th><th>ACC ↑</th><th>ECE ↓</th><th>NLL ↓</th>"
                     "<th>Brier ↓</th></tr>\n";
  for (const MethodMetrics& m : rows) {
    const bool ours = m.key.rfind("bayes", 0) == 0;
    html += "<tr" + std::string(ours ? " class=\"ours\"" : "") + " data-method=\"" +
            eval::xml_escaped(m.key) + "\"><td>" + eval::xml_escaped(m.name) + "</td>";
    for (int c = 0; c < 4; ++c) {
      const double v = value(m.metrics, c);
      html += "<td class=\"num" + std::string(v == best[c] ? " best" : "") + "\" data-metric=\"" +
              keys[c] + "\">" + number(v) + "</td>";
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

// Reliability diagrams of every method, three panels to a row so each stays readable.
std::string diagrams(const std::vector<MethodMetrics>& methods) {
  std::string html = "<div class=\"diagrams\">\n";
  for (std::size_t first = 0; first < methods.size(); first += 3) {
    std::vector<eval::ReliabilityPanel> panels;
    for (std::size_t k = first; k < std::min(first + 3, methods.size()); ++k) {
      panels.push_back({methods[k].name, methods[k].metrics});
    }
    html += eval::reliability_svg(panels);
  }
  return html + "</div>\n";
}

}  // namespace

std::string demo_html_report(const DemoReport& r) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>vkmoe demo: Bayesian-MoE calibration</title>\n<style>" +
      std::string(kStyle) +
      "</style>\n</head>\n<body>\n<h1>vkmoe demo: Bayesian-MoE calibration</h1>\n";
  html +=
      "<p>A small Qwen2-MoE fine-tuned on a multiple-choice task, its predictions as they are "
      "(MAP) and calibrated five ways, in distribution and on two shifted test sets. "
      "Bayesian-MoE is a Kronecker-factored Laplace posterior on every routed expert's "
      "<code>down_proj</code>; λ (both Laplace rows) and T come from the validation items, or λ "
      "from the evidence on the train items with <code>--prior-precision evidence</code>, never "
      "from a test split. ACC: accuracy; ECE: expected calibration error, "
      "15 equal-width bins of the top probability; NLL: mean negative log-likelihood; Brier: "
      "mean squared error of the probability vector. The best value of each column is bold.</p>\n";
  html += "<ul class=\"settings\">\n";
  for (const std::string& line : demo_settings(r))
    html += "<li>" + eval::xml_escaped(line) + "</li>\n";
  html += "</ul>\n";
  for (const SplitMetrics& s : r.outcome.splits) {
    html += "<h2>" + eval::xml_escaped(s.split->title) + " <small>(" +
            eval::xml_escaped(s.split->file.string()) + ", " +
            std::to_string(s.split->items.size()) + " of " + std::to_string(s.split->available) +
            " items)</small></h2>\n";
    html += metrics_table(s.split->name, "methods", s.methods);
    html += diagrams(s.methods);
    html +=
        "<h3>Layer-wise ablation</h3>\n<p>Bayesian-MoE (glm) with one quarter of the MoE layers "
        "left out: the same posterior restricted to the other layers (it is block-diagonal over "
        "layers), no refit.</p>\n";
    html += metrics_table(s.split->name, "ablation", s.ablation);
  }
  html +=
      "<h2>Time</h2>\n<table class=\"stages\">\n<tr><th>stage</th><th>items</th><th>s</th></tr>\n";
  for (const StageTime& t : r.outcome.stages) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", t.seconds);
    html += "<tr><td>" + eval::xml_escaped(t.stage) + "</td><td class=\"num\">" +
            std::to_string(t.items) + "</td><td class=\"num\">" + seconds + "</td></tr>\n";
  }
  html += "</table>\n</body>\n</html>\n";
  return html;
}

}  // namespace vkmoe::cli
