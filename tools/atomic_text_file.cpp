#include "tools/atomic_text_file.h"

#include <fstream>
#include <system_error>

#include "loaders/load_error.h"

namespace vkmoe::cli {

void write_text_atomically(const std::filesystem::path& path, const std::string& text,
                           const std::string& what) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !(f << text) || !f.flush()) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw LoadError(path.string() + ": cannot write " + what);
    }
  }
  std::error_code error;
  std::filesystem::rename(tmp, path, error);
  if (error) {
    throw LoadError(path.string() + ": cannot write " + what + " (rename from " + tmp.string() +
                    ": " + error.message() + ")");
  }
}

}  // namespace vkmoe::cli
