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

// Each is one route of the gateway's table (gateway/e2b_routes.cc), which
// asks for the access token on /execute only: the SDK sends none with its
// /contexts calls.
void execute_cell(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void create_context(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void list_contexts(client::Client& bus, ResponseWriter& out, const std::string& sandbox);
void remove_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id);
void restart_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id);
void interrupt_context(client::Client& bus, ResponseWriter& out, const std::string& sandbox, const std::string& id);

}  // namespace soulbox::gateway
