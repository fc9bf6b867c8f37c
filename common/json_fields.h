// Typed reads of a JSON object's fields that never throw: data from a stream
// or the bus is untrusted, and nlohmann's value() throws type_error on a
// field of the wrong type (one such event once aborted every node that
// replayed it). A read leaves its target unchanged when the field is absent
// or null; a field of another type is an error naming it (the first one is
// kept).
#pragma once
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace soulbox {

class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string what) : object_(object), what_(std::move(what)) {
    if (!object_.is_object()) fail("", "an object");
  }

  void read(const char* name, std::string& out) {
    if (const auto* v = present(name)) v->is_string() ? void(out = v->get<std::string>()) : fail(name, "a string");
  }
  void read(const char* name, bool& out) {
    if (const auto* v = present(name)) v->is_boolean() ? void(out = v->get<bool>()) : fail(name, "true or false");
  }
  void read(const char* name, double& out) {
    if (const auto* v = present(name)) v->is_number() ? void(out = v->get<double>()) : fail(name, "a number");
  }
  void read(const char* name, int64_t& out) {
    if (const auto* v = present(name))
      v->is_number_integer() ? void(out = v->get<int64_t>()) : fail(name, "an integer");
  }
  void read(const char* name, uint64_t& out) { read_unsigned(name, out); }
  void read(const char* name, uint32_t& out) { read_unsigned(name, out); }
  void read(const char* name, uint16_t& out) { read_unsigned(name, out); }
  void read(const char* name, std::vector<std::string>& out) {
    const auto* v = present(name);
    if (!v) return;
    std::vector<std::string> items;
    if (v->is_array())
      for (const auto& item : *v) {
        if (!item.is_string()) break;
        items.push_back(item.get<std::string>());
      }
    if (!v->is_array() || items.size() != v->size()) return fail(name, "an array of strings");
    out = std::move(items);
  }
  // The field's object, or nullptr when it is absent (or of another type:
  // an error).
  const nlohmann::json* object(const char* name) {
    const auto* v = present(name);
    if (v && !v->is_object()) fail(name, "an object");
    return v && v->is_object() ? v : nullptr;
  }

  bool ok() const { return error_.empty(); }
  // protocol_error for what peers wrote; invalid_argument for what a
  // client's request says.
  Status status(ErrorCode code = ErrorCode::protocol_error) const {
    if (ok()) return {};
    return Error{code, error_};
  }

 private:
  const nlohmann::json* present(const char* name) {
    if (!object_.is_object()) return nullptr;
    const auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  template <class T>
  void read_unsigned(const char* name, T& out) {
    const auto* v = present(name);
    if (!v) return;
    if (v->is_number_unsigned() && v->get<uint64_t>() <= std::numeric_limits<T>::max()) {
      out = T(v->get<uint64_t>());
    } else if (v->is_number_integer() && v->get<int64_t>() >= 0 &&
               uint64_t(v->get<int64_t>()) <= std::numeric_limits<T>::max()) {
      out = T(v->get<int64_t>());
    } else {
      fail(name, "an unsigned integer of at most " + std::to_string(std::numeric_limits<T>::max()));
    }
  }
  void fail(const std::string& name, const std::string& expected) {
    if (!error_.empty()) return;
    error_ = name.empty() ? what_ + " is not " + expected : what_ + ": '" + name + "' must be " + expected;
  }

  const nlohmann::json& object_;
  std::string what_;
  std::string error_;
};

}  // namespace soulbox
