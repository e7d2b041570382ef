# Every shader variant the engine can launch. Defines choose data types at build time;
# tile sizes and similar come from specialization constants at pipeline creation.
vkmoe_shader(elementwise elementwise.comp)
vkmoe_shader(peak_fma peak_fma.comp)
vkmoe_shader(peak_copy peak_copy.comp)
vkmoe_shader(attention_prefill attention_prefill.comp)
vkmoe_shader(attention_decode attention_decode.comp)
vkmoe_shader(attention_combine attention_combine.comp)
