# Build step for one shader variant, run by `cmake -P`:
#   GLSL --glslang--> SPIR-V --spirv-val--> (--spirv-opt -O--> --spirv-val-->) C++ array.
# Inputs: GLSLANG SPIRV_VAL SPIRV_OPT SRC NAME DEFINES(,-list) OPT(ON/OFF) INCLUDE_DIR OUT_DIR
set(spv_raw "${OUT_DIR}/${NAME}.raw.spv")
set(spv_opt "${OUT_DIR}/${NAME}.spv")
set(out_cpp "${OUT_DIR}/${NAME}.spv.cpp")
set(dep_raw "${OUT_DIR}/${NAME}.glslang.d")
set(dep_out "${OUT_DIR}/${NAME}.d")

set(define_args "")
string(REPLACE "," ";" DEFINES "${DEFINES}")
foreach(d IN LISTS DEFINES)
  list(APPEND define_args "-D${d}")
endforeach()

function(run_or_fail what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "shader ${NAME} (${SRC}): ${what} failed\n${out}${err}")
  endif()
endfunction()

run_or_fail("glslangValidator" ${GLSLANG} -V --target-env vulkan1.2 -I${INCLUDE_DIR}
            ${define_args} --depfile ${dep_raw} -o ${spv_raw} ${SRC})
run_or_fail("spirv-val" ${SPIRV_VAL} --target-env vulkan1.2 ${spv_raw})
if(OPT)
  run_or_fail("spirv-opt" ${SPIRV_OPT} -O --target-env=vulkan1.2 ${spv_raw} -o ${spv_opt})
  run_or_fail("spirv-val (optimised)" ${SPIRV_VAL} --target-env vulkan1.2 ${spv_opt})
else()
  file(COPY_FILE ${spv_raw} ${spv_opt})
endif()

# SPIR-V is a stream of little-endian 32-bit words: turn each 4-byte group into one literal.
file(READ ${spv_opt} hex HEX)
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "((0x........u,){8})" "\\1\n" words "${words}")
file(WRITE ${out_cpp}.tmp
"// Generated from ${SRC} by shaders/compile_shader.cmake. Do not edit.
#include \"engine/vk/shader_registry.h\"
namespace vkmoe::shaders {
static const uint32_t kWords[] = {
${words}};
extern const ShaderBinary ${NAME};
const ShaderBinary ${NAME} = {\"${NAME}\", kWords, sizeof(kWords) / sizeof(kWords[0])};
}  // namespace vkmoe::shaders
")
file(RENAME ${out_cpp}.tmp ${out_cpp})

# glslang names the .spv as the target of its depfile; the build knows the step by its .cpp.
file(READ ${dep_raw} deps)
string(REGEX REPLACE "^[^:]*:" "${out_cpp}:" deps "${deps}")
file(WRITE ${dep_out} "${deps}")
