#include "bus/nats_error.h"

namespace soulbox::bus {

Error to_error(natsStatus s, const std::string& what) {
  ErrorCode code = ErrorCode::internal;
  switch (s) {
    case NATS_TIMEOUT:
      code = ErrorCode::timeout;
      break;
    case NATS_NO_RESPONDERS:
    case NATS_CONNECTION_CLOSED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
      code = ErrorCode::unavailable;
      break;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
      code = ErrorCode::permission_denied;
      break;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_MAX_PAYLOAD:
      code = ErrorCode::invalid_argument;
      break;
    case NATS_NOT_FOUND:
      code = ErrorCode::not_found;
      break;
    default:
      break;
  }
  const char* last = nats_GetLastError(nullptr);
  return Error{code, what + ": " + natsStatus_GetText(s) + (last && *last ? std::string(" (") + last + ")" : "")};
}

}  // namespace soulbox::bus
