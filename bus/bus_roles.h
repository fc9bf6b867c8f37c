// Who may do what on the bus. Nodes, gateways and job publishers each get a
// NATS user of their own whose permissions cover only their part
// (docs/SECURITY.md, "The bus as a trust boundary"):
//   node       everything (nodes serve requests and write the streams);
//   gateway    requests to nodes, sandboxes, tenants and jobs, sandbox event
//              streams and heartbeats, reading SB_AUDIT, its nonce bucket;
//              no stream writes (SB_EVENTS, SB_AUDIT), no serving requests;
//   publisher  job subjects and job result look-ups only; it may subscribe to
//              its own reply subjects, never to SoulBox's.
// Each non-node role has an inbox prefix of its own, so no role can read
// the replies sent to another.
#pragma once
#include <string>
#include <vector>

namespace soulbox::bus {

enum class BusRole { node, gateway, publisher };

inline constexpr BusRole kAllRoles[] = {BusRole::node, BusRole::gateway, BusRole::publisher};

const char* role_name(BusRole role);  // "node", "gateway", "publisher"

// The inbox prefix a connection of this role must use ("_INBOX" for nodes).
const char* role_inbox_prefix(BusRole role);

// The `permissions { ... }` block of nats-server's config for the role.
std::string role_permissions(BusRole role);

}  // namespace soulbox::bus
