// The in-sandbox process API: process.Process/Start and Connect (Connect
// server streams of start, output, keepalive and end events) and the unary
// List, SendInput, CloseStdin, SendSignal and Update, over the bus client.
// Each is one route of the gateway's table (gateway/e2b_routes.cc).
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

void process_start(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_connect(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_list(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_send_input(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_close_stdin(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_send_signal(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void process_update(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);

}  // namespace soulbox::gateway
