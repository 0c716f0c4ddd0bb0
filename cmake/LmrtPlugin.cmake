# lmrt_add_plugin(NAME SOURCES ... [LIBRARIES ...] [NO_INSTALL] [OUTPUT_DIR dir])
# A plugin is a MODULE library named lmrt-<NAME>.so with hidden visibility that
# exports only the bootstrap symbol (ABI rule 8) and never links liblmrt (rule 1).
function(lmrt_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIR" "SOURCES;LIBRARIES" ${ARGN})
  set(target lmrt-plugin-${name})
  add_library(${target} MODULE ${P_SOURCES})
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${LMRT_PLUGIN_OUTPUT_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME lmrt-${name}
    PREFIX lib
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    CUDA_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE lmrt::sdk ${P_LIBRARIES})
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--exclude-libs,ALL)
  # Keep libstdc++ inline statics local too, so only the bootstrap symbol is exported.
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
  if(NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${LMRT_PLUGIN_SUBDIR})
  endif()
endfunction()
