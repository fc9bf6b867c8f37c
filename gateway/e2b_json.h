// Encodings E2B's in-sandbox API uses (and standard base64, common/base64.h): RFC 3339
// times, EntryInfo objects for files, and paths relative to the user's home.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "agent/client/agent_client.h"
#include "client/client.h"
#include "common/base64.h"
#include "common/result.h"

namespace soulbox::gateway {

std::string rfc3339(int64_t unix_ms);
std::string rfc3339_ns(int64_t unix_ns);  // with nanoseconds, as Go's time.Time marshals

// filesystem.EntryInfo in proto3 JSON (int64 size as a string, the mode as
// Go's FileMode with the directory bit, permissions like "drwxr-xr-x").
nlohmann::json entry_json(const FileInfo& f);

// A path as envd resolves it: relative ones against the user's home.
std::string in_home(const std::string& user, const std::string& path);
// A sandbox as E2B's control plane describes it (GET /sandboxes/{id}, list).
nlohmann::json sandbox_json(const client::SandboxInfo& s, const std::string& envd_version);

// The user of an RPC: `Authorization: Basic base64("<user>:")`, else "user".
std::string rpc_user(const std::string& authorization);

}  // namespace soulbox::gateway
