// Tenant records on SB_EVENTS carry an HMAC-SHA256 seal that every node
// checks before folding a record into its view: besides the bus permissions
// (only nodes may publish there), a record must come from a holder of the
// cluster's key (the tenant secrets key every node of a cluster shares,
// --secrets-key). Sealed form: "SBT1 <64 hex digits>\n<record JSON>".
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox::tenants {

// What the seal's key is derived for (SecretBox::derive_key).
inline constexpr const char* kRecordSealPurpose = "soulbox tenant record seal v1";

class RecordSeal {
 public:
  // `key`: derived from the cluster's key for this purpose only
  // (SecretBox::derive_key).
  explicit RecordSeal(std::string key) : key_(std::move(key)) {}

  std::string seal(const std::string& record_json) const;
  // The record's JSON, or an error when the seal is missing, malformed or
  // does not match (a record some other party wrote).
  Result<std::string> open(const std::string& sealed) const;

 private:
  std::string key_;
};

}  // namespace soulbox::tenants
