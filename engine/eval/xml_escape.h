// Text placed in SVG or HTML markup: the five characters with a meaning there become entities,
// so a model path or split name shows as written and cannot break the document.
#pragma once

#include <string>

namespace vkmoe::eval {

std::string xml_escaped(const std::string& text);

}  // namespace vkmoe::eval
