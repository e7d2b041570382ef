// Token embeddings: rows of an embedding table (f32, f16 or bf16) gathered by token id on the
// GPU, widened to f32. The kernel does not read GGUF quants: the model loader decodes a
// quantised table to f32 on the host (a table is read one row per token, so its bytes matter
// little next to the expert matrices).
#pragma once

#include <cstdint>

#include "engine/ops/launch.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct EmbeddingArgs {
  vk::BufferSpan table;   // [vocab, columns] of table_type
  vk::BufferSpan ids;     // u32 [tokens]
  vk::BufferSpan out;     // f32 [tokens, columns] (written)
  vk::BufferSpan status;  // u32, 0 before the call; afterwards 1 + an out-of-range id, if any
  DType table_type = DType::f32;
  uint32_t tokens = 0, columns = 0, vocab = 0;
};

// Tables larger than one binding are read in chunks of rows (one dispatch each); an id outside [0,
// vocab) gives a row of zeros and is reported through `status` (the caller checks it when it reads
// back).
void embedding(vk::Stream& stream, const EmbeddingArgs& args);

}  // namespace vkmoe::ops
