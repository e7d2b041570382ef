# Runs a tiny `vkmoe stats contraction` grid into OUT and checks what it writes: one CSV row per
# size x replication with finite losses (Hellinger in [0, 1]), a slope row per series, the SVG,
# and no temporary file left behind.
file(REMOVE_RECURSE ${OUT})
include(${CMAKE_CURRENT_LIST_DIR}/run_writes_files.cmake)
run_writes_files(${OUT} FILES contraction.csv contraction_rates.csv contraction.svg
                 COMMAND ${VKMOE} stats contraction --spec ${SPEC} --n-min 60 --n-max 240
                         --points 3 --replications 2 --chains 2 --warmup 30 --draws 12
                         --leapfrog 4 --design-points 20 --hellinger-draws 8 --out ${OUT})
file(STRINGS ${OUT}/contraction.csv rows)
list(LENGTH rows row_count)
if(NOT row_count EQUAL 7)  # header + 3 sizes x 2 replications
  message(FATAL_ERROR "contraction.csv has ${row_count} lines, expected 7:\n${rows}")
endif()
list(GET rows 0 header)
if(NOT header STREQUAL "n,replication,hellinger,voronoi_loss,accept,divergent,seconds_of_n")
  message(FATAL_ERROR "unexpected header: ${header}")
endif()
list(SUBLIST rows 1 -1 data)
foreach(row ${data})
  if(NOT row MATCHES "^[0-9]+,[01],(0\\.[0-9e-]+|1|0),[0-9.e+-]+,[0-9.e+-]+,[0-9]+,")
    message(FATAL_ERROR "malformed or out-of-range row: ${row}")
  endif()
endforeach()
file(STRINGS ${OUT}/contraction_rates.csv rates)
foreach(series hellinger voronoi_loss)
  if(NOT "${rates}" MATCHES "${series},-?[0-9.]+,")
    message(FATAL_ERROR "no slope row for ${series}:\n${rates}")
  endif()
endforeach()
file(READ ${OUT}/contraction.svg svg)
if(NOT svg MATCHES "^<svg" OR NOT svg MATCHES "</svg>")
  message(FATAL_ERROR "contraction.svg is not an SVG document")
endif()
