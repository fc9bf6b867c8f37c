// The in-sandbox file API: `GET/POST /files` (downloads, multipart and raw
// uploads, signed URLs) and the unary filesystem.Filesystem RPCs (Stat,
// ListDir, MakeDir, Move, Remove), over the bus client.
#pragma once
#include <string>

#include "client/client.h"
#include "gateway/http_server.h"
#include "gateway/signed_urls.h"

namespace soulbox::gateway {

// What lets a request use /files: the sandbox's access token (checked by
// the caller), or a signature the request must carry, of E2B's scheme (the
// in-sandbox /files) or SoulBox's (/v1/sandboxes/{id}/files). A signature
// authorises one operation on its one `path`: a signed upload writes
// exactly one file, there, whatever the part's filename says.
enum class FileAuth { access_token, e2b_signature, soulbox_signature };
void serve_files(client::Client& bus, const SignedUrls& urls, const HttpRequest& req, ResponseWriter& out,
                 const std::string& sandbox, FileAuth auth);
// The unary filesystem.Filesystem RPCs, each one route of the gateway's
// table (gateway/e2b_routes.cc).
void fs_stat(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void fs_list_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void fs_make_dir(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void fs_move(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);
void fs_remove(client::Client& bus, const HttpRequest& req, ResponseWriter& out, const std::string& sandbox);

}  // namespace soulbox::gateway
