// The reliability diagram (engine/eval/reliability_svg.h): one panel per model, one bar per
// non-empty bin, names escaped, a whole SVG document.
#include "engine/eval/reliability_svg.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vkmoe::eval {
namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReliabilitySvg, OnePanelPerModelAndOneBarPerNonEmptyBin) {
  const std::vector<std::vector<double>> p{{0.9, 0.1}, {0.3, 0.7}, {0.55, 0.45}, {0.2, 0.8}};
  const std::vector<int> labels{0, 0, 1, 1};
  const ClassificationMetrics m = classification_metrics(p, labels);
  std::size_t non_empty = 0;
  for (const ReliabilityBin& b : m.bins) non_empty += b.count != 0 ? 1 : 0;
  const std::string svg = reliability_svg({{"MAP", m}, {"Bayes <glm> & co", m}});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("</svg>\n"), std::string::npos);
  EXPECT_EQ(occurrences(svg, "<g class=\"panel\">"), 2u);
  EXPECT_EQ(occurrences(svg, "<rect class=\"bin\""), 2 * non_empty);
  EXPECT_NE(svg.find("Bayes &lt;glm&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(svg.find("<glm>"), std::string::npos);
}

}  // namespace
}  // namespace vkmoe::eval
