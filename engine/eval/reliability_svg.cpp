#include "engine/eval/reliability_svg.h"

#include <cstdio>

#include "engine/eval/xml_escape.h"

namespace vkmoe::eval {

namespace {

constexpr double kPanel = 320, kMargin = 40, kTitle = 30;

std::string format(const char* pattern, double a, double b, double c, double d) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, pattern, a, b, c, d);
  return buffer;
}

}  // namespace

std::string reliability_svg(const std::vector<ReliabilityPanel>& panels) {
  const double width = static_cast<double>(panels.size()) * (kPanel + 2 * kMargin);
  const double height = kPanel + 2 * kMargin + kTitle;
  std::string svg = format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, width, height);
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const ClassificationMetrics& m = panels[p].metrics;
    const double x0 = static_cast<double>(p) * (kPanel + 2 * kMargin) + kMargin;
    const double y0 = kTitle + kMargin + kPanel;  // the plot's origin (confidence 0, accuracy 0)
    svg += "<g class=\"panel\">\n<text x=\"" + format("%.1f", x0, 0, 0, 0) + "\" y=\"20\">" +
           xml_escaped(panels[p].name) +
           format(" — ECE %.4f, accuracy %.4f, N %.0f</text>\n", m.ece, m.accuracy,
                  static_cast<double>(m.examples), 0);
    svg += format(
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
        "stroke=\"black\"/>\n",
        x0, y0 - kPanel, kPanel, kPanel);
    svg += format(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"gray\" "
        "stroke-dasharray=\"4 3\"/>\n",
        x0, y0, x0 + kPanel, y0 - kPanel);
    for (const ReliabilityBin& b : m.bins) {
      if (b.count == 0) continue;
      const double x = x0 + b.lower * kPanel, w = (b.upper - b.lower) * kPanel;
      svg += format(
          "<rect class=\"bin\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"steelblue\" fill-opacity=\"0.7\" stroke=\"white\"/>\n",
          x, y0 - b.accuracy * kPanel, w, b.accuracy * kPanel);
      svg += format(
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"crimson\" "
          "stroke-width=\"2\"/>\n",
          x, y0 - b.mean_confidence * kPanel, x + w, y0 - b.mean_confidence * kPanel);
    }
    svg += format("<text x=\"%.1f\" y=\"%.1f\">confidence</text>\n", x0 + kPanel / 2 - 30, y0 + 28,
                  0, 0);
    svg +=
        format("<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-90 %.1f %.1f)\">accuracy</text>\n",
               x0 - 10, y0 - kPanel / 2 + 25, x0 - 10, y0 - kPanel / 2 + 25);
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace vkmoe::eval
