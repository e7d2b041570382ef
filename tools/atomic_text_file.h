// Writing a whole text file (a report, a diagram) so that a reader never sees half of it: the
// text goes to "<path>.tmp" beside the target, which is then renamed over it.
#pragma once

#include <filesystem>
#include <string>

namespace vkmoe::cli {

// Throws LoadError naming the file and `what` ("the reliability diagram") when it cannot be
// written; the temporary is removed then.
void write_text_atomically(const std::filesystem::path& path, const std::string& text,
                           const std::string& what);

}  // namespace vkmoe::cli
