# Every shader variant the engine can launch. Defines choose data types at build time;
# tile sizes and similar come from specialization constants at pipeline creation.
vkmoe_shader(elementwise elementwise.comp)
