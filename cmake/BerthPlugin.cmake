# berth_add_plugin(<target> SOURCES <src>... [LINK <lib>...])
#
# Builds a Berth plugin as a MODULE library that exports only berth_plugin_entry
# (hidden visibility + version script) and has no undefined symbols (-z defs).
# Installed with the plugin-api package so third-party plugins get the same flags.
include_guard(GLOBAL)

if(NOT DEFINED BERTH_PLUGIN_MAP)
  if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/../plugin-api/berth_plugin.map")
    set(BERTH_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/../plugin-api/berth_plugin.map")
  else()
    set(BERTH_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/berth_plugin.map")
  endif()
endif()

function(berth_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  # C plugins get the ABI header; C++ projects also get the SDK.
  get_property(_langs GLOBAL PROPERTY ENABLED_LANGUAGES)
  if("CXX" IN_LIST _langs AND TARGET Berth::plugin_sdk)
    target_link_libraries(${target} PRIVATE Berth::plugin_sdk)
  else()
    target_link_libraries(${target} PRIVATE Berth::plugin_api)
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_LINK})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${BERTH_PLUGIN_MAP}" "LINKER:-z,defs")
  if(DEFINED BERTH_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${BERTH_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()
