#include "tests/support/tenant_keys.h"

#include <catch2/catch.hpp>

#include "bus/subjects.h"

namespace soulbox::test {
namespace bp = busproto;
namespace subjects = bus::subjects;

std::pair<std::string, std::string> developer_key(client::Client& c, const std::string& tenant, const std::string& role,
                                                  int64_t ttl_ms) {
  auto up = c.call(subjects::tenant_op("upsert"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    return std::make_pair(bp::Body::TenantUpsert, bp::CreateTenantUpsert(fbb, fbb.CreateString(tenant)).Union());
  });
  REQUIRE(up.ok());
  auto r = c.call(subjects::tenant_op("key-create"), [&](flatbuffers::FlatBufferBuilder& fbb) {
    auto roles = fbb.CreateVectorOfStrings(std::vector<std::string>{role});
    return std::make_pair(bp::Body::KeyCreate,
                          bp::CreateKeyCreate(fbb, fbb.CreateString(tenant), roles, ttl_ms).Union());
  });
  REQUIRE(r.ok());
  return {r->get().body_as_KeyCreated()->key_id()->str(), r->get().body_as_KeyCreated()->token()->str()};
}

}  // namespace soulbox::test
