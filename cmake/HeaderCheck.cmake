# Every header compiles on its own: for each folder, one object library
# whose sources are one-line files including one header each, compiled with
# the include paths, definitions and options of the target that owns the
# folder (transitively, as that target sees them). `ninja check_headers`
# builds them all; nothing else depends on them. A header that only
# compiled because its includer happened to include something first fails
# here instead of in the next file that includes it.
add_custom_target(check_headers)

# soulbox_check_headers(<owner target> <folder relative to the project>)
function(soulbox_check_headers owner folder)
  file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${folder}/*.h)
  set(sources)
  foreach(header ${headers})
    file(RELATIVE_PATH relative ${PROJECT_SOURCE_DIR} ${header})
    string(MAKE_C_IDENTIFIER ${relative} name)
    set(unit ${PROJECT_BINARY_DIR}/header_check/${name}.cc)
    file(CONFIGURE OUTPUT ${unit} CONTENT "#include \"${relative}\"\n")
    list(APPEND sources ${unit})
  endforeach()
  string(MAKE_C_IDENTIFIER ${folder} name)
  set(check headers_alone_${name})
  add_library(${check} OBJECT EXCLUDE_FROM_ALL ${sources})
  target_include_directories(${check} PRIVATE ${PROJECT_SOURCE_DIR} $<TARGET_PROPERTY:${owner},INCLUDE_DIRECTORIES>)
  target_compile_definitions(${check} PRIVATE $<TARGET_PROPERTY:${owner},COMPILE_DEFINITIONS>)
  target_compile_options(${check} PRIVATE $<TARGET_PROPERTY:${owner},COMPILE_OPTIONS>)
  add_dependencies(${check} ${owner})  # generated headers (flatc) first
  add_dependencies(check_headers ${check})
endfunction()
