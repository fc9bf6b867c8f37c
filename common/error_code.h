// Stable error codes shared by the isolation layer, the agent protocol, the
// bus and (later) HTTP. Numbers never change; new codes are appended.
#pragma once
#include <cstdint>
#include <string_view>

namespace soulbox {

enum class ErrorCode : uint16_t {
  ok = 0,                  // success
  invalid_argument = 1,    // a request field is malformed or out of range
  not_found = 2,           // the sandbox, process, file or template does not exist
  already_exists = 3,      // the target exists and the request did not allow that
  permission_denied = 4,   // the caller or the sandbox user may not do this
  resource_exhausted = 5,  // a limit (memory, pids, output, quota) was reached
  timeout = 6,             // the deadline passed before the work finished
  unavailable = 7,         // the agent or a dependency is not reachable; retry may help
  internal = 8,            // a bug or an unexpected kernel answer; see the log
  version_mismatch = 9,    // peer speaks a protocol version this side refuses
  protocol_error = 10,     // a frame failed verification or arrived out of order
  io_error = 11,           // a read or write failed
  not_a_directory = 12,    // a path component is not a directory
  is_a_directory = 13,     // the operation needs a file but found a directory
  path_escape = 14,        // a path would resolve outside the sandbox root
  cancelled = 15,          // the operation was stopped on request
};

std::string_view to_string(ErrorCode code) noexcept;

}  // namespace soulbox
