#include "engine/ops/embedding.h"

#include <string>

#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {
constexpr uint32_t kGroupSize = 256;
}  // namespace

void embedding(vk::Stream& stream, const EmbeddingArgs& a) {
  const std::string what = "embedding_" + std::string(dtype_name(a.table_type)) + " (tokens " +
                           std::to_string(a.tokens) + ", columns " + std::to_string(a.columns) +
                           ", vocab " + std::to_string(a.vocab) + ")";
  if (a.tokens == 0) return;
  if (dtype_is_quantized(a.table_type)) {
    throw Error(what + ": the kernel reads f32, f16 and bf16 tables; decode quants on the host");
  }
  const uint64_t element = dtype_block_bytes(a.table_type);
  const uint64_t row_bytes = dtype_row_bytes(a.table_type, a.columns);
  if (a.columns == 0 || a.vocab == 0 || a.table.size < row_bytes * a.vocab ||
      a.ids.size < uint64_t{a.tokens} * 4 || a.out.size < uint64_t{a.tokens} * a.columns * 4 ||
      a.status.size < 4) {
    throw Error(what + ": a buffer is smaller than the shape needs");
  }
  vk::Context& context = stream.context();
  if (dtype_needs_16bit_storage(a.table_type) && !context.info().storage_buffer_16bit) {
    throw Error(what + ": the device cannot read 16-bit tables (no storageBuffer16BitAccess)");
  }
  const AlignedBinding bi = align_binding(context, a.ids.sub(0, uint64_t{a.tokens} * 4), 4);
  const AlignedBinding bo =
      align_binding(context, a.out.sub(0, uint64_t{a.tokens} * a.columns * 4), 4);
  const AlignedBinding bs = align_binding(context, a.status.sub(0, 4), 4);
  if (bs.first_element != 0)
    throw Error(what + ": status must be aligned to the binding alignment");
  const uint32_t specialization[] = {kGroupSize};
  const uint64_t outputs = uint64_t{a.tokens} * a.columns;
  const vk::Pipeline& pipeline =
      context.pipelines().get("embedding_" + std::string(dtype_name(a.table_type)), specialization,
                              {4, 8 * sizeof(uint32_t)});
  for_each_chunk(context, a.vocab, row_bytes, [&](uint64_t first, uint64_t rows) {
    const AlignedBinding bt = align_binding(
        context, a.table.sub(first * row_bytes, rows * row_bytes), static_cast<uint32_t>(element));
    const uint32_t push[] = {a.tokens,       a.columns,        a.vocab,          uint32_t(first),
                             uint32_t(rows), bt.first_element, bi.first_element, bo.first_element};
    const vk::Binding bindings[] = {{bt.span, vk::Access::read},
                                    {bi.span, vk::Access::read},
                                    {bo.span, vk::Access::write},
                                    {bs.span, vk::Access::read_write}};
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                    linear_grid(context, outputs, kGroupSize), "embedding",
                    {0, double(outputs) * (4.0 + double(element))});
  });
}

}  // namespace vkmoe::ops
