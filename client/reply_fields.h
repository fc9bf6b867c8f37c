// Reading the fields of bus replies, shared by the client's source files.
#pragma once
#include <string>

#include "common/result.h"
#include "messages/bus_codec.h"

namespace soulbox::client {

inline std::string str(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

inline std::string bytes_of(const flatbuffers::Vector<uint8_t>* v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}

// A reply whose body is not the one the call expects.
inline Error wrong_body(const char* wanted, const busproto::Reply& r) {
  return Error{ErrorCode::protocol_error,
               std::string("expected a ") + wanted + " reply, got " + busproto::EnumNameBody(r.body_type())};
}

}  // namespace soulbox::client
