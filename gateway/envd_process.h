// The in-sandbox process API: process.Process/Start (a Connect server
// stream of start, output, keepalive and end events) and the unary List,
// SendInput, SendSignal, Update and CloseStdin, over the bus client.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

void serve_process_rpc(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
                       const std::string& method);

}  // namespace soulbox::gateway
