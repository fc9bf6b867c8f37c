// API keys for tests that go through the HTTP API: a tenant upserted and a
// key of one role created for it, over the bus as an operator would.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "client/client.h"

namespace soulbox::test {

// (key id, token) of a new key of `tenant` (created if need be).
std::pair<std::string, std::string> developer_key(client::Client& c, const std::string& tenant,
                                                  const std::string& role = "developer", int64_t ttl_ms = 0);

}  // namespace soulbox::test
