# Runs a tiny `vkmoe stats rates` sweep into OUT and checks what it writes: the per-fit CSV (one
# row per size x replication), the slopes CSV (mean and median slope per series) and the SVG.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
include(${CMAKE_CURRENT_LIST_DIR}/run_writes_files.cmake)
run_writes_files(${OUT} FILES tanh_k3_fits.csv tanh_k3_rates.csv tanh_k3.svg
                 COMMAND ${VKMOE} stats rates --spec ${SPEC} --k 3 --n-min 200 --n-max 800
                         --points 3 --replications 3 --adam-iterations 60 --lm-iterations 5
                         --out ${OUT}/tanh_k3)
file(STRINGS ${OUT}/tanh_k3_fits.csv fits)
list(LENGTH fits fit_lines)
if(NOT fit_lines EQUAL 10)  # header + 3 sizes x 3 replications
  message(FATAL_ERROR "tanh_k3_fits.csv has ${fit_lines} lines, expected 10")
endif()
file(STRINGS ${OUT}/tanh_k3_rates.csv rates)
list(GET rates 0 header)
if(NOT header MATCHES "^series,slope,.*,median_slope,median_slope_low_95,median_slope_high_95,")
  message(FATAL_ERROR "unexpected rates header: ${header}")
endif()
foreach(series voronoi_loss function_l2_error exact_atom_error overfit_atom_error)
  if(NOT "${rates}" MATCHES "${series},-?[0-9.]+,")
    message(FATAL_ERROR "no slope row for ${series}:\n${rates}")
  endif()
endforeach()
file(READ ${OUT}/tanh_k3.svg svg)
if(NOT svg MATCHES "^<svg" OR NOT svg MATCHES "</svg>")
  message(FATAL_ERROR "tanh_k3.svg is not an SVG document")
endif()
if(NOT out MATCHES "median slope")
  message(FATAL_ERROR "the printed table has no median slopes:\n${out}")
endif()
