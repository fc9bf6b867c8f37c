// The OpenAPI 3 description of the gateway's API (docs/openapi.json,
// compiled in at configure time), served at GET /openapi.json.
#pragma once

namespace soulbox::gateway {

const char* openapi_document();

}  // namespace soulbox::gateway
