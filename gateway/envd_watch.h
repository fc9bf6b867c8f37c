// filesystem.Filesystem/WatchDir: a Connect server stream of the changes
// under a directory, as E2B's envd sends them.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

void serve_watch_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);

}  // namespace soulbox::gateway
