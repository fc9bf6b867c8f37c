// Choosing the embedded nats-server's port. The server is restarted on the
// same port when it dies (clients reconnect to the URL they have), so the port
// lies below the kernel's ephemeral range: an outgoing connection (or a
// client's reconnect attempt connecting to itself) is given ephemeral ports
// only, and can never take it while the server is down.
#pragma once
#include <utility>

#include "common/result.h"

namespace soulbox::bus {

// The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range).
std::pair<int, int> ephemeral_port_range();

// A loopback port that is free now and lies below the ephemeral range (or,
// when that range starts too low to leave room, one the kernel picks).
Result<int> pick_loopback_port();

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(int port);

}  // namespace soulbox::bus
