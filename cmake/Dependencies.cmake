# Finds every package of SoulBox's fixed stack. Each failure names the Debian
# package that provides the missing piece, so `apt-get install` is one step away.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

macro(soulbox_require found what debian_pkg)
  if(NOT ${found})
    message(FATAL_ERROR "SoulBox needs ${what}: install the Debian package '${debian_pkg}' "
                        "(apt-get install ${debian_pkg}), or run ./run.sh which installs everything.")
  endif()
endmacro()

# CAF 0.17: Debian ships neither a CMake config nor a .pc file (docs/stack-notes.md S2).
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
soulbox_require(CAF_INCLUDE_DIR "the C++ Actor Framework headers" libcaf-dev)
soulbox_require(CAF_CORE_LIBRARY "libcaf_core" libcaf-dev)
file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_v REGEX "^#define CAF_VERSION [0-9]+")
string(REGEX REPLACE "^#define CAF_VERSION ([0-9]+)" "\\1" CAF_VERSION "${_caf_v}")
if(CAF_VERSION LESS 1700 OR NOT CAF_VERSION LESS 1800)
  message(FATAL_ERROR "SoulBox needs CAF 0.17.x (Debian libcaf-dev), found ${CAF_VERSION}")
endif()
add_library(CAF::core SHARED IMPORTED)
set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)

# cnats: Debian's cnats-config.cmake references files it does not ship (docs/stack-notes.md S1).
pkg_check_modules(NATS IMPORTED_TARGET GLOBAL libnats>=3.4)
soulbox_require(NATS_FOUND "the NATS C client" libnats-dev)
add_library(cnats::nats ALIAS PkgConfig::NATS)
find_program(NATS_SERVER nats-server PATHS /usr/sbin /usr/bin)
soulbox_require(NATS_SERVER "nats-server" nats-server)

find_package(FlatBuffers 2.0.8 CONFIG QUIET)
soulbox_require(FlatBuffers_FOUND "FlatBuffers 2.0.8" "libflatbuffers-dev flatbuffers-compiler")

pkg_check_modules(SECCOMP IMPORTED_TARGET libseccomp>=2.5)
soulbox_require(SECCOMP_FOUND "libseccomp" libseccomp-dev)

find_package(RocksDB 7.8 CONFIG QUIET)   # use RocksDB::rocksdb-shared (docs/stack-notes.md S3)
soulbox_require(RocksDB_FOUND "RocksDB" librocksdb-dev)
find_package(fmt 9 CONFIG QUIET)
soulbox_require(fmt_FOUND "fmt" libfmt-dev)
find_package(spdlog 1.10 CONFIG QUIET)
soulbox_require(spdlog_FOUND "spdlog" libspdlog-dev)
find_package(Catch2 2.13 CONFIG QUIET)
soulbox_require(Catch2_FOUND "Catch2 v2" catch2)
find_package(Boost 1.74 QUIET)           # header-only; no COMPONENTS (docs/stack-notes.md S4)
soulbox_require(Boost_FOUND "Boost (Beast/Asio)" libboost-dev)
find_package(OpenSSL QUIET)
soulbox_require(OPENSSL_FOUND "OpenSSL" libssl-dev)
find_package(ZLIB QUIET)                 # gzip uploads (the gateway)
soulbox_require(ZLIB_FOUND "zlib" zlib1g-dev)
find_package(CLI11 CONFIG QUIET)
soulbox_require(CLI11_FOUND "CLI11" libcli11-dev)
find_package(nlohmann_json 3.11 CONFIG QUIET)
soulbox_require(nlohmann_json_FOUND "nlohmann-json" nlohmann-json3-dev)
