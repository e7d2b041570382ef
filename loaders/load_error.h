// The one error type every loader throws: a file, tokenizer or dataset that cannot be read.
// The message names the file and where in it (offset, tensor, field) things went wrong.
#pragma once

#include <stdexcept>

namespace vkmoe {

struct LoadError : std::runtime_error {
  using runtime_error::runtime_error;
};

}  // namespace vkmoe
