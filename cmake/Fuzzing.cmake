# The fuzzing build (SOULBOX_FUZZ=ON, fuzz/run.sh): every library compiled
# with libFuzzer's coverage instrumentation, ASan and UBSan (a UBSan finding
# aborts, so libFuzzer reports it as a crash); the libraries' directories are
# excluded from `all`, so only the fuzz targets and what they link get built
# (no daemon, gateway, agent, tests, benchmarks or examples).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SOULBOX_FUZZ needs clang (libFuzzer): -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
endif()
set(SOULBOX_FUZZ_SANITIZERS address,undefined)
add_compile_options(-fsanitize=fuzzer-no-link,${SOULBOX_FUZZ_SANITIZERS} -fno-sanitize-recover=all
                    -fno-omit-frame-pointer)

foreach(dir common messages agent storage bus client audit tenants gateway)
  add_subdirectory(${dir} EXCLUDE_FROM_ALL)
endforeach()
add_subdirectory(fuzz)
