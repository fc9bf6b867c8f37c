// Bus messages as a node, the gateway or a client receives them: any bytes
// published on the bus go through open_envelope / open_reply (size cap,
// file identifier, FlatBuffers verification of every Body member) before a
// field is read. What they accept is read whole through the object API.
#include <cstddef>
#include <cstdint>
#include <string>

#include "messages/bus_codec.h"

namespace bp = soulbox::busproto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (auto envelope = bp::open_envelope(bytes)) {
    bp::EnvelopeT unpacked;
    (*envelope)->UnPackTo(&unpacked);
    const auto roles = bp::envelope_roles(**envelope);
    if (roles.size() != unpacked.roles.size()) __builtin_trap();
  }
  if (auto reply = bp::open_reply(bytes)) {
    bp::ReplyT unpacked;
    (*reply)->UnPackTo(&unpacked);
  }
  return 0;
}
