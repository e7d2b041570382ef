// What `vkmoe demo` shows of a run (issue 7): the settings and sizes it used, one table of
// ACC / ECE / NLL / Brier per evaluation split, the layer-wise ablation and the time of each
// stage — as text on stdout, as JSON (--json, the same numbers at full precision), and as a
// self-contained HTML page (inline CSS, reliability diagrams as inline SVG, nothing fetched).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/demo_inputs.h"
#include "tools/demo_pipeline.h"

namespace vkmoe::cli {

struct DemoReport {
  const DemoData& data;
  const DemoOptions& options;
  const DemoOutcome& outcome;
  std::filesystem::path report_file;  // <out>/report.html
  double seconds = 0;                 // the whole run
};

// The settings and sizes, one line each ("fit: 48 of 4000 train items, ..."); the text table's
// header and the HTML page's opening list.
std::vector<std::string> demo_settings(const DemoReport& report);

std::string demo_text_report(const DemoReport& report);
nlohmann::json demo_json_report(const DemoReport& report);
std::string demo_html_report(const DemoReport& report);  // demo_report_html.cpp

}  // namespace vkmoe::cli
