# lmrt_add_plugin(NAME SOURCES ... [LIBRARIES ...] [NO_INSTALL] [OUTPUT_DIR dir])
# A plugin is a MODULE library named lmrt-<NAME>.so with hidden visibility that
# exports only the bootstrap symbol (ABI rule 8) and never links liblmrt (rule 1).
set(LMRT_PLUGIN_EXPORTS_MAP ${CMAKE_CURRENT_LIST_DIR}/plugin-exports.map)

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
  # Only the bootstrap symbol leaves the module: not even weak template instantiations or
  # libstdc++'s inline statics (a version script, and no STB_GNU_UNIQUE symbols).
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-fno-gnu-unique>)
  target_link_options(${target} PRIVATE -Wl,--version-script=${LMRT_PLUGIN_EXPORTS_MAP})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${LMRT_PLUGIN_EXPORTS_MAP})
  if(NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${LMRT_PLUGIN_SUBDIR})
  endif()
endfunction()
