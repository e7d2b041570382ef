#include "engine/stats/rate_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

constexpr double kWidth = 760, kHeight = 500;
constexpr double kLeft = 80, kRight = 250, kTop = 40, kBottom = 60;  // margins; legend at right
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string number(double value, const char* pattern = "%.2f") {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string rate_plot_svg(const std::vector<RateSeries>& series, const std::string& title) {
  if (series.empty()) throw Error("rate plot: no series to draw");
  double n_low = INFINITY, n_high = 0, y_low = INFINITY, y_high = 0;
  for (const RateSeries& s : series) {
    for (size_t i = 0; i < s.samples.size(); ++i) {
      n_low = std::min(n_low, s.samples[i]);
      n_high = std::max(n_high, s.samples[i]);
      y_low = std::min(y_low, s.mean[i]);
      y_high = std::max(y_high, s.mean[i]);
    }
  }
  // Whole decades around the data.
  const double x0 = std::floor(std::log10(n_low)),
               x1 = std::max(x0 + 1, std::ceil(std::log10(n_high)));
  const double v0 = std::floor(std::log10(y_low)),
               v1 = std::max(v0 + 1, std::ceil(std::log10(y_high)));
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  const auto px = [&](double n) { return kLeft + (std::log10(n) - x0) / (x1 - x0) * plot_w; };
  const auto py = [&](double y) { return kTop + (v1 - std::log10(y)) / (v1 - v0) * plot_h; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(kWidth, "%.0f") +
                    "\" height=\"" + number(kHeight, "%.0f") +
                    "\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg +=
      "<text x=\"" + number(kLeft) + "\" y=\"24\" font-size=\"14\">" + escape(title) + "</text>\n";
  // Axes, decade grid lines and labels.
  for (double e = x0; e <= x1; e += 1) {
    const double x = px(std::pow(10.0, e));
    svg += "<line x1=\"" + number(x) + "\" y1=\"" + number(kTop) + "\" x2=\"" + number(x) +
           "\" y2=\"" + number(kTop + plot_h) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + number(x) + "\" y=\"" + number(kTop + plot_h + 18) +
           "\" text-anchor=\"middle\">1e" + number(e, "%.0f") + "</text>\n";
  }
  for (double e = v0; e <= v1; e += 1) {
    const double y = py(std::pow(10.0, e));
    svg += "<line x1=\"" + number(kLeft) + "\" y1=\"" + number(y) + "\" x2=\"" +
           number(kLeft + plot_w) + "\" y2=\"" + number(y) + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + number(kLeft - 6) + "\" y=\"" + number(y + 4) +
           "\" text-anchor=\"end\">1e" + number(e, "%.0f") + "</text>\n";
  }
  svg += "<rect x=\"" + number(kLeft) + "\" y=\"" + number(kTop) + "\" width=\"" + number(plot_w) +
         "\" height=\"" + number(plot_h) + "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + number(kLeft + plot_w / 2) + "\" y=\"" + number(kHeight - 16) +
         "\" text-anchor=\"middle\">sample size n</text>\n";
  svg += "<text transform=\"translate(20," + number(kTop + plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">mean loss over replications</text>\n";

  for (size_t k = 0; k < series.size(); ++k) {
    const RateSeries& s = series[k];
    const std::string colour = kColours[k % std::size(kColours)];
    for (size_t i = 0; i < s.samples.size(); ++i) {
      svg += "<circle cx=\"" + number(px(s.samples[i])) + "\" cy=\"" + number(py(s.mean[i])) +
             "\" r=\"3.5\" fill=\"" + colour + "\"/>\n";
    }
    const double a = s.samples.front(), b = s.samples.back();
    svg += "<line x1=\"" + number(px(a)) + "\" y1=\"" + number(py(s.fit.predict(a))) + "\" x2=\"" +
           number(px(b)) + "\" y2=\"" + number(py(s.fit.predict(b))) + "\" stroke=\"" + colour +
           "\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n";
    const double ly = kTop + 14 + 36 * static_cast<double>(k);
    const double lx = kLeft + plot_w + 14;
    svg += "<circle cx=\"" + number(lx) + "\" cy=\"" + number(ly - 4) + "\" r=\"4\" fill=\"" +
           colour + "\"/>\n";
    svg += "<text x=\"" + number(lx + 10) + "\" y=\"" + number(ly) + "\">" + escape(s.name) +
           "</text>\n";
    svg += "<text x=\"" + number(lx + 10) + "\" y=\"" + number(ly + 15) + "\">slope " +
           number(s.fit.slope, "%.3f") + " [" + number(s.fit.slope_low, "%.3f") + ", " +
           number(s.fit.slope_high, "%.3f") + "]</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

void write_rate_plot(const std::filesystem::path& path, const std::vector<RateSeries>& series,
                     const std::string& title) {
  write_file_atomically(path, rate_plot_svg(series, title));
}

}  // namespace vkmoe::stats
