# Every shader variant the engine can launch. Defines choose data types at build time;
# tile sizes and similar come from specialization constants at pipeline creation.
vkmoe_shader(elementwise elementwise.comp)
vkmoe_shader(peak_fma peak_fma.comp)
vkmoe_shader(peak_copy peak_copy.comp)
vkmoe_shader(attention_prefill attention_prefill.comp)
vkmoe_shader(attention_decode attention_decode.comp)
vkmoe_shader(attention_combine attention_combine.comp)
# Row kernels: one workgroup per row; *_subgroup reduce with subgroup arithmetic.
vkmoe_shader(reduce_rows reduce_rows.comp)
vkmoe_shader(reduce_rows_subgroup reduce_rows.comp DEFINES ROW_REDUCE_SUBGROUP=1)
vkmoe_shader(softmax softmax.comp)
vkmoe_shader(softmax_subgroup softmax.comp DEFINES ROW_REDUCE_SUBGROUP=1)
vkmoe_shader(rmsnorm rmsnorm.comp)
vkmoe_shader(rmsnorm_subgroup rmsnorm.comp DEFINES ROW_REDUCE_SUBGROUP=1)
vkmoe_shader(rope rope.comp)
vkmoe_shader(topk topk.comp)
