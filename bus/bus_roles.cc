#include "bus/bus_roles.h"

namespace soulbox::bus {
namespace {

std::string quoted_list(const std::vector<std::string>& subjects) {
  std::string out = "[";
  for (size_t i = 0; i < subjects.size(); ++i) out += (i ? ", \"" : "\"") + subjects[i] + "\"";
  return out + "]";
}

// Requests a gateway sends on behalf of its callers, and the JetStream API
// calls it needs: reading SB_AUDIT (an ordered consumer) and its single-use
// URL nonces (a key-value bucket it creates). No subject of SB_EVENTS or
// SB_AUDIT is publishable, and no stream can be purged or deleted.
const std::vector<std::string> kGatewayPublish = {
    "sb.v1.sched.place",
    "sb.v1.node.*.*",
    "sb.v1.sbx.*.*",
    "sb.v1.tenant.*",
    "sb.v1.tenant.*.*",
    "sb.v1.jobs.*",
    "sb.v1.jobres.get",
    "$JS.API.INFO",
    "$JS.API.STREAM.INFO.SB_AUDIT",
    "$JS.API.CONSUMER.CREATE.SB_AUDIT",
    "$JS.API.CONSUMER.CREATE.SB_AUDIT.>",
    "$JS.API.CONSUMER.DELETE.SB_AUDIT.>",
    "$JS.API.CONSUMER.INFO.SB_AUDIT.>",
    "$JS.API.CONSUMER.MSG.NEXT.SB_AUDIT.>",
    "$JS.FC.SB_AUDIT.>",
    "$JS.API.STREAM.INFO.SB_JOBS",
    "$JS.API.STREAM.INFO.KV_SB_URL_NONCES",
    "$JS.API.STREAM.CREATE.KV_SB_URL_NONCES",
    "$JS.API.STREAM.MSG.GET.KV_SB_URL_NONCES",
    "$JS.API.DIRECT.GET.KV_SB_URL_NONCES",
    "$JS.API.DIRECT.GET.KV_SB_URL_NONCES.>",
    "$KV.SB_URL_NONCES.>",
};
const std::vector<std::string> kGatewaySubscribe = {"_INBOX_gateway.>", "sb.v1.sbx.*.ev.>", "sb.v1.nodes.hb.*"};

// A publisher's results come to reply subjects it names itself (any subject
// outside SoulBox's), so it may subscribe widely, but never to a SoulBox
// subject (it could answer requests meant for nodes), another role's inbox,
// or the JetStream API.
const std::vector<std::string> kPublisherPublish = {"sb.v1.jobs.*", "sb.v1.jobres.get"};
const std::vector<std::string> kPublisherSubscribeDeny = {"sb.v1.>", "_INBOX.>", "_INBOX_gateway.>", "$JS.>", "$KV.>",
                                                          "$O.>",    "$SYS.>"};

}  // namespace

const char* role_name(BusRole role) {
  switch (role) {
    case BusRole::node:
      return "node";
    case BusRole::gateway:
      return "gateway";
    case BusRole::publisher:
      return "publisher";
  }
  return "node";
}

const char* role_inbox_prefix(BusRole role) {
  switch (role) {
    case BusRole::node:
      return "_INBOX";
    case BusRole::gateway:
      return "_INBOX_gateway";
    case BusRole::publisher:
      return "_INBOX_publisher";
  }
  return "_INBOX";
}

std::string role_permissions(BusRole role) {
  switch (role) {
    case BusRole::node:
      return "permissions { publish: \">\", subscribe: \">\" }";
    case BusRole::gateway:
      return "permissions { publish: { allow: " + quoted_list(kGatewayPublish) +
             " }, subscribe: { allow: " + quoted_list(kGatewaySubscribe) + " } }";
    case BusRole::publisher:
      return "permissions { publish: { allow: " + quoted_list(kPublisherPublish) +
             " }, subscribe: { allow: \">\", deny: " + quoted_list(kPublisherSubscribeDeny) + " } }";
  }
  return "";
}

}  // namespace soulbox::bus
