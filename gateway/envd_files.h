// The in-sandbox file API: `GET/POST /files` (downloads, multipart and raw
// uploads, signed URLs) and the unary filesystem.Filesystem RPCs (Stat,
// ListDir, MakeDir, Move, Remove), over the bus client.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"
#include "gateway/signed_urls.h"

namespace soulbox::gateway {

// `token_ok`: the request carried the sandbox's access token; otherwise a
// valid signature (E2B's signed URLs) is needed.
void serve_files(client::Client& bus, const SignedUrls& urls, const HttpRequest& req, ResponseWriter& out,
                 const std::string& sandbox, bool token_ok);
void serve_filesystem_rpc(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
                          const std::string& method);

}  // namespace soulbox::gateway
