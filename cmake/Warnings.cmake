# One curated warning list, errors in project code; sanitizers on request.
add_library(soulbox_warnings INTERFACE)
target_compile_options(soulbox_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough -Wmisleading-indentation)
if(SOULBOX_WERROR)
  target_compile_options(soulbox_warnings INTERFACE -Werror)
endif()

if(SOULBOX_SANITIZE)
  # Halt on the first error so a sanitizer finding fails its test.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
