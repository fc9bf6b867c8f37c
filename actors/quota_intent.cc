#include "actors/quota_intent.h"

#include <nlohmann/json.hpp>

#include "actors/node_context.h"
#include "common/json_fields.h"
#include "common/log.h"
#include "tenants/ask_json.h"

namespace soulbox::actors {
namespace {

using json = nlohmann::json;

Result<QuotaIntent> decode_intent(const std::string& change, const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  QuotaIntent intent;
  intent.change = change;
  JsonFields f(j, "quota intent");
  f.read("tenant", intent.tenant);
  f.read("principal", intent.principal);
  f.read("after_seq", intent.after_seq);
  if (!f.ok()) return f.status().error();
  if (j.contains("ask") && j["ask"].is_object()) intent.ask = tenants::ask_from_json(j["ask"]);
  return intent;
}

}  // namespace

std::string quota_spend_change(const std::string& tenant, const std::string& request_id) {
  return "start/" + tenant + "/" + request_id;
}

std::string quota_undo_change(const std::string& spend_change) {
  return "undo/" + spend_change;
}

std::string quota_release_change(const std::string& sandbox_id) {
  return "end/" + sandbox_id;
}

storage::Write intent_write(const QuotaIntent& intent) {
  const json j{{"tenant", intent.tenant},
               {"principal", intent.principal},
               {"ask", tenants::ask_json(intent.ask)},
               {"after_seq", intent.after_seq}};
  return {storage::Family::quota_intents, intent.change, j.dump()};
}

storage::Write intent_delete(const std::string& change) {
  return {storage::Family::quota_intents, change, std::nullopt};
}

Result<std::vector<QuotaIntent>> load_intents(storage::Store& store) {
  std::vector<QuotaIntent> out;
  auto scanned = store.scan(storage::Family::quota_intents, "", [&](const std::string& key, const std::string& value) {
    auto intent = decode_intent(key, value);
    if (intent)
      out.push_back(std::move(*intent));
    else
      logger("soulboxd")->error("quota intent {} is unreadable: {}", key, intent.error().message);
    return true;
  });
  if (!scanned) return scanned.error();
  return out;
}

audit::Event failed_create_event(const QuotaIntent& intent, const std::string& node_id, const std::string& why) {
  audit::Event e;
  e.unix_ms = unix_ms_now();
  e.id = node_id + "-create-" + intent.change;
  e.tenant = intent.tenant;
  e.principal = intent.principal;
  e.action = "sandbox.create";
  e.resource = "sandbox/";
  e.result = "error";
  e.source = node_id;
  e.details = json{{"why", why}, {"quota_ask", tenants::ask_json(intent.ask)}}.dump();
  return e;
}

}  // namespace soulbox::actors
