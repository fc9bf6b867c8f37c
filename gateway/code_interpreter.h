// E2B's code-interpreter API (the sandbox's port 49999, docs/code-interpreter.md)
// over the bus's code contexts: POST /execute streams a cell's events as
// newline-delimited JSON; /contexts creates, lists, restarts and removes
// contexts; POST /contexts/{id}/interrupt is SoulBox's own.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

inline constexpr const char* kCodeInterpreterPort = "49999";

// `token_ok`: the request carried the sandbox's envd access token. /execute
// needs it; the SDK sends none with its /contexts calls.
void serve_code_interpreter(client::Client& bus, const HttpRequest& req, ResponseWriter& out,
                            const std::string& sandbox, bool token_ok);

}  // namespace soulbox::gateway
