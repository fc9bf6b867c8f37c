#include "gateway/e2b_errors.h"

#include <nlohmann/json.hpp>

#include "gateway/json_text.h"

namespace soulbox::gateway {

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok:
      return 200;
    case ErrorCode::invalid_argument:
    case ErrorCode::protocol_error:
    case ErrorCode::not_a_directory:
    case ErrorCode::is_a_directory:
    case ErrorCode::path_escape:
      return 400;
    case ErrorCode::permission_denied:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::already_exists:
      return 409;
    case ErrorCode::resource_exhausted:
      return 429;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::timeout:
      return 504;
    case ErrorCode::cancelled:
      return 499;
    default:
      return 500;
  }
}

const char* connect_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::protocol_error:
    case ErrorCode::not_a_directory:
    case ErrorCode::is_a_directory:
    case ErrorCode::path_escape:
      return "invalid_argument";
    case ErrorCode::permission_denied:
      return "permission_denied";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::already_exists:
      return "already_exists";
    case ErrorCode::resource_exhausted:
      return "resource_exhausted";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::timeout:
      return "deadline_exceeded";
    case ErrorCode::cancelled:
      return "canceled";
    default:
      return "internal";
  }
}

std::string error_body(int status, const std::string& message) {
  return json_text(nlohmann::json{{"code", status}, {"message", message}});
}

std::string connect_error_body(const Error& e) {
  return json_text(nlohmann::json{{"code", connect_code(e.code)}, {"message", e.message}});
}

// Answers about one sandbox: "no responders" (no node has it) and another
// tenant's sandbox both read as not found, so ids reveal nothing.
Error about_sandbox(const Error& e, const std::string& id) {
  const bool missing =
      (e.code == ErrorCode::unavailable && e.message.find("No responders") != std::string::npos) ||
      (e.code == ErrorCode::permission_denied && e.message.find("belongs to another tenant") != std::string::npos);
  if (missing) return Error{ErrorCode::not_found, "sandbox " + id + " not found"};
  return e;
}

void send_error(ResponseWriter& out, int status, const std::string& message) {
  out.send(status, "application/json", error_body(status, message));
}

void send_error(ResponseWriter& out, const Error& e) {
  send_error(out, http_status(e.code), e.message);
}

}  // namespace soulbox::gateway
