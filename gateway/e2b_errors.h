// SoulBox's stable error codes as E2B's clients expect them: HTTP statuses
// with `{"code": <status>, "message"}` bodies on the control plane, and
// Connect code names (with their statuses) on the in-sandbox API.
#pragma once
#include <string>

#include "common/error_code.h"
#include "common/result.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

int http_status(ErrorCode code);
const char* connect_code(ErrorCode code);
// The control plane's error body.
std::string error_body(int status, const std::string& message);
// A unary Connect error body.
std::string connect_error_body(const Error& e);

// Answers about one sandbox: "no responders" (no node has it) and another
// tenant's sandbox both read as not found, so ids reveal nothing.
Error about_sandbox(const Error& e, const std::string& id);

// A control-plane error response: E2B's body with the status, or the status
// an Error maps to.
void send_error(ResponseWriter& out, int status, const std::string& message);
void send_error(ResponseWriter& out, const Error& e);

}  // namespace soulbox::gateway
