// natsStatus -> soulbox::Error, in one place (bus/ internal: includes nats.h).
#pragma once
#include <nats/nats.h>

#include <string>

#include "common/result.h"

namespace soulbox::bus {

Error to_error(natsStatus s, const std::string& what);

}  // namespace soulbox::bus
