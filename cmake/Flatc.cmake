# soulbox_flatbuffers(<target> <schema>...): generates C++ headers with flatc
# into the build tree and exposes them through an INTERFACE library.
function(soulbox_flatbuffers target)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/generated)
  set(headers)
  set(all_schemas)
  foreach(schema ${ARGN})
    list(APPEND all_schemas ${CMAKE_CURRENT_SOURCE_DIR}/${schema})
  endforeach()
  foreach(schema ${ARGN})
    get_filename_component(name ${schema} NAME_WE)
    set(header ${out_dir}/${name}_generated.h)
    add_custom_command(
      OUTPUT ${header}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND flatbuffers::flatc --cpp --scoped-enums --gen-name-strings -I ${CMAKE_CURRENT_SOURCE_DIR}
              -o ${out_dir} ${CMAKE_CURRENT_SOURCE_DIR}/${schema}
      # Schemas of one call may include each other.
      DEPENDS ${all_schemas} flatbuffers::flatc
      COMMENT "flatc ${schema}" VERBATIM)
    list(APPEND headers ${header})
  endforeach()
  add_custom_target(${target}_gen DEPENDS ${headers})
  add_library(${target} INTERFACE)
  target_include_directories(${target} SYSTEM INTERFACE ${out_dir})
  add_dependencies(${target} ${target}_gen)
endfunction()
