# Every shader variant the engine can launch. Defines choose data types at build time;
# tile sizes and similar come from specialization constants at pipeline creation.
vkmoe_shader(elementwise elementwise.comp)
vkmoe_shader(peak_fma peak_fma.comp)
vkmoe_shader(peak_copy peak_copy.comp)
