// A create's body (E2B's NewSandbox, POST /v2/sandboxes and POST /sandboxes)
// turned into SoulBox's create options, checked field by field.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include "client/client.h"
#include "common/result.h"

namespace soulbox::gateway {

// invalid_argument naming the field when the body asks for something
// SoulBox does not do. `legacy_route`: the request came to POST /sandboxes.
// The tenant is the caller's to set.
Result<client::CreateOptions> create_options(const nlohmann::json& body, bool legacy_route);

}  // namespace soulbox::gateway
