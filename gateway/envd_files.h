// The in-sandbox file API: `GET/POST /files` (downloads, multipart and raw
// uploads, signed URLs) and the unary filesystem.Filesystem RPCs (Stat,
// ListDir, MakeDir, Move, Remove), over the bus client.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/access_token.h"
#include "gateway/http_server.h"

namespace soulbox::gateway {

// `token_ok`: the request carried the sandbox's access token; otherwise a
// valid signature (E2B's signed URLs) is needed.
void serve_files(client::Client& bus, const AccessTokens& tokens, const HttpRequest& req, ResponseWriter& out,
                 const std::string& sandbox, bool token_ok);
void serve_filesystem_rpc(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox,
                          const std::string& method);

// E2B's URL signature: "v1_" + base64(SHA-256("path:operation:user:token[:expiry]")), unpadded.
std::string file_signature(const std::string& path, const std::string& operation, const std::string& user,
                           const std::string& token, const std::string& expiration);

}  // namespace soulbox::gateway
