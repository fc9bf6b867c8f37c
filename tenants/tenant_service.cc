#include "tenants/tenant_service.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "bus/subjects.h"
#include "common/log.h"
#include "common/wall_clock.h"
#include "messages/bus_codec.h"
#include "tenants/api_key.h"
#include "tenants/tenant_view_store.h"

namespace soulbox::tenants {
namespace bp = busproto;
namespace subjects = bus::subjects;

namespace {

constexpr int kMaxConflicts = 100;         // then the caller is told to retry
constexpr size_t kMaxUnsentAudit = 10000;  // events before the audit sink is set (start-up)

// Identities the gateway verified itself (JWT, OIDC, client certificates):
// their roles come with the request, not from a key record.
bool is_external_principal(const std::string& principal) {
  return principal.rfind("jwt:", 0) == 0 || principal.rfind("cert:", 0) == 0;
}

std::string ok_reply(const std::string& request_id) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto ok = agentproto::CreateOk(fbb);
  bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(request_id), 0, 0, bp::Body::Ok, ok.Union()));
  return bp::finish(fbb);
}

// The key `key_id` of `r`, or not_found.
Result<KeyRecord*> key_of(TenantRecord& r, const std::string& key_id) {
  auto it = r.keys.find(key_id);
  if (it == r.keys.end()) return Error{ErrorCode::not_found, "no key '" + key_id + "'"};
  return &it->second;
}

}  // namespace

Result<std::unique_ptr<TenantService>> TenantService::start(bus::Connection& bus, const std::string& node_id,
                                                            const SecretBox* secrets, storage::Store* store) {
  std::unique_ptr<TenantService> s(new TenantService(bus, node_id, secrets, store));
  auto js = bus::JetStream::open(bus);
  if (!js) return js.error();
  s->js_ = std::move(*js);
  if (auto caught_up = s->catch_up(); !caught_up) return caught_up.error();
  auto key_usage = KeyUsage::open(*s->js_);
  if (!key_usage) return key_usage.error();
  s->key_usage_ = std::move(*key_usage);
  auto* self = s.get();
  auto handler = [self](bus::Message m) { self->on_request(m); };
  auto shared = bus.subscribe(subjects::tenant_ops(), "tenants", handler);
  if (!shared) return shared.error();
  s->requests_ = std::move(*shared);
  auto mine = bus.subscribe(subjects::tenant_node_ops(node_id), "", handler);
  if (!mine) return mine.error();
  s->node_requests_ = std::move(*mine);
  if (auto flushed = bus.flush(2000); !flushed) return flushed.error();
  return s;
}

// The view: what the store kept, then every change after it as it is stored.
Status TenantService::catch_up() {
  auto newest = js_->last_message(subjects::kEventsStream, subjects::tenant_events_all());
  if (!newest) return newest.error();
  const uint64_t target = newest->has_value() ? (*newest)->first : 0;
  if (store_) {
    auto stored = load_view(*store_);
    if (!stored) return stored.error();
    // A view ahead of the stream belongs to a stream that is gone: fold anew.
    if (stored->last_seq <= target) {
      view_ = std::move(stored->tenants);
      applied_seq_ = stored->last_seq;
    }
  }
  auto follow = js_->follow(subjects::kEventsStream, subjects::tenant_events_all(), applied_seq_ + 1,
                            [this](uint64_t seq, std::string subject, std::string data) {
                              on_event(seq, std::move(subject), std::move(data));
                            });
  if (!follow) return follow.error();
  follow_ = std::move(*follow);
  std::unique_lock<std::mutex> lock(mu_);
  if (!applied_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return applied_seq_ >= target; }))
    return Error{ErrorCode::unavailable, "the tenant view did not catch up with SB_EVENTS (at " +
                                             std::to_string(applied_seq_) + " of " + std::to_string(target) + ")"};
  return {};
}

TenantService::~TenantService() {
  requests_.reset();
  node_requests_.reset();
  follow_.reset();
}

void TenantService::set_audit(std::function<void(audit::Event)> sink) {
  std::lock_guard<std::mutex> lock(audit_mu_);
  audit_ = std::move(sink);
  if (!audit_) return;
  for (auto& e : unsent_audit_) audit_(std::move(e));
  unsent_audit_.clear();
}

void TenantService::audit(const std::string& tenant, const std::string& principal, const std::string& action,
                          const std::string& resource, const Status& result, const std::string& details_json,
                          uint64_t events_seq) {
  audit::Event e;
  e.unix_ms = unix_ms_now();
  e.id = node_ + "-tenants-" + std::to_string(e.unix_ms) + "-" + std::to_string(++audit_count_);
  e.tenant = tenant;
  e.principal = principal;
  e.action = action;
  e.resource = resource;
  e.result = result ? "ok" : result.error().code == ErrorCode::permission_denied ? "denied" : "error";
  e.source = node_;
  e.details = details_json;
  if (events_seq) {  // the change's place on SB_EVENTS: replay orders changes by it
    auto details = nlohmann::json::parse(details_json, nullptr, false);
    if (details.is_object()) {
      details["events_seq"] = events_seq;
      e.details = details.dump();
    }
  }
  std::lock_guard<std::mutex> lock(audit_mu_);
  if (audit_)
    audit_(std::move(e));
  else if (unsent_audit_.size() < kMaxUnsentAudit)
    unsent_audit_.push_back(std::move(e));
  else
    logger("tenants")->error("audit event {} lost: no audit sink yet and {} waiting", e.action, kMaxUnsentAudit);
}

std::string TenantService::stored_form(const TenantRecord& record) const {
  return seal_ ? seal_->seal(encode_tenant(record)) : encode_tenant(record);
}

Result<TenantRecord> TenantService::read_stored(const std::string& data) const {
  if (!seal_) return decode_tenant(data);
  auto opened = seal_->open(data);
  if (!opened) return opened.error();
  return decode_tenant(*opened);
}

void TenantService::on_event(uint64_t seq, std::string subject, std::string data) {
  // An unreadable event is skipped, never fatal: it stays in the stream and
  // is read again at every start.
  auto t = read_stored(data);
  if (!t) {
    ++unreadable_events_;
    logger("tenants")->error("unreadable event skipped (SB_EVENTS sequence {}, {}): {}", seq, subject,
                             t.error().message);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seq <= applied_seq_) return;  // already in the stored view
    if (t) {
      if (store_)
        if (auto saved = save_view_event(*store_, *t, seq); !saved)
          logger("tenants")->error("view not stored: {}", saved.error().message);
      view_[t->name] = std::move(*t);
    }
    applied_seq_ = seq;
  }
  applied_cv_.notify_all();
}

std::optional<TenantRecord> TenantService::viewed(const std::string& tenant) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = view_.find(tenant);
  if (it == view_.end()) return std::nullopt;
  return it->second;
}

// Read-your-writes: a change is answered once this service's own view (fed
// by SB_EVENTS) holds it, so a key just created authenticates at once (it
// was refused now and then on a busy node). Bounded: a stalled stream does
// not hold the request for long; the view catches up on its own.
void TenantService::await_view(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  applied_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return applied_seq_ >= seq; });
}

Result<TenantRecord> TenantService::change(const std::string& tenant, bool must_exist,
                                           const std::function<Status(TenantRecord&)>& edit, uint64_t* stored_seq) {
  if (auto ok = subjects::check_token("tenant", tenant); !ok) return ok.error();
  const std::string subject = subjects::tenant_events(tenant);
  for (int attempt = 0; attempt < kMaxConflicts; ++attempt) {
    auto last = js_->last_message(subjects::kEventsStream, subject);
    if (!last) return last.error();
    TenantRecord record;
    record.name = tenant;
    uint64_t seq = 0;
    if (last->has_value()) {
      auto decoded = read_stored((*last)->second);
      if (!decoded) return decoded.error();
      record = std::move(*decoded);
      seq = (*last)->first;
    } else if (must_exist) {
      return Error{ErrorCode::not_found, "no tenant '" + tenant + "'"};
    }
    if (auto edited = edit(record); !edited) return edited.error();
    auto stored = js_->publish_expecting(subject, stored_form(record), seq);
    if (stored && stored_seq) *stored_seq = stored->sequence;
    if (stored) {
      await_view(stored->sequence);
      return record;
    }
    if (stored.error().code != ErrorCode::already_exists) return stored.error();
  }
  return Error{ErrorCode::unavailable, "tenant '" + tenant + "' changed too often to update; retry"};
}

Result<uint64_t> TenantService::change_usage(const std::string& tenant,
                                             const std::function<Result<Usage>(const Usage&)>& next,
                                             const std::string& change, const BeforeChange& before_publish) {
  const std::string subject = subjects::usage_events(tenant);
  for (int attempt = 0; attempt < kMaxConflicts; ++attempt) {
    auto last = js_->last_message(subjects::kEventsStream, subject);
    if (!last) return last.error();
    Usage usage;
    uint64_t seq = 0;
    if (last->has_value()) {
      auto decoded = decode_usage((*last)->second);
      if (!decoded) return decoded.error();
      usage = *decoded;
      seq = (*last)->first;
    }
    auto updated = next(usage);
    if (!updated) return updated.error();
    if (before_publish)
      if (auto ready = before_publish(seq); !ready) return ready.error();
    auto stored = js_->publish_expecting(subject, encode_usage(*updated, change), seq);
    if (stored) return seq;
    if (stored.error().code != ErrorCode::already_exists) return stored.error();
  }
  return Error{ErrorCode::unavailable, "usage of '" + tenant + "' changed too often to update; retry"};
}

Result<uint64_t> TenantService::spend(const std::string& tenant, const SandboxAsk& ask, const std::string& principal,
                                      const std::string& change, const BeforeChange& before_publish) {
  auto record = viewed(tenant);
  if (!record) return uint64_t(0);
  auto spent = change_usage(
      tenant,
      [&](const Usage& u) -> Result<Usage> {
        if (auto ok = admit(record->quota, u, ask); !ok) return ok.error();
        return started(u, ask);
      },
      change, before_publish);
  if (!spent && spent.error().code == ErrorCode::resource_exhausted)
    audit(tenant, principal, "quota.exceeded", "tenant/" + tenant, Status(spent.error()),
          nlohmann::json{{"why", spent.error().message}}.dump());
  return spent;
}

Status TenantService::release(const std::string& tenant, const SandboxAsk& ask, const std::string& change) {
  if (!viewed(tenant)) return {};
  auto released = change_usage(
      tenant, [&](const Usage& u) -> Result<Usage> { return ended(u, ask); }, change);
  if (!released) return released.error();
  return {};
}

Result<bool> TenantService::usage_changed(const std::string& tenant, const std::string& change, uint64_t after_seq) {
  const std::string subject = subjects::usage_events(tenant);
  auto last = js_->last_message(subjects::kEventsStream, subject);
  if (!last) return last.error();
  if (!last->has_value() || (*last)->first <= after_seq) return false;
  auto since = js_->read_all(subjects::kEventsStream, subject, 10000, after_seq + 1);
  if (!since) return since.error();
  for (const auto& m : *since)
    if (usage_change_of(m.data) == change) return true;
  return false;
}

Result<Authenticated> TenantService::authenticate(const std::string& token) const {
  const Error denied{ErrorCode::permission_denied, "invalid, expired or revoked API key"};
  auto key = parse_key(token);
  if (!key) return denied;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, tenant] : view_) {
    auto it = tenant.keys.find(key->id);
    if (it == tenant.keys.end()) continue;
    const KeyRecord& k = it->second;
    if (k.revoked || (k.expires_unix_ms && k.expires_unix_ms < unix_ms_now()) ||
        !secret_matches(key->secret, k.secret_hash))
      return denied;
    key_usage_->mark(name, key->id, unix_ms_now());
    return Authenticated{name, key->id, k.roles};
  }
  return denied;
}

Status TenantService::authorize_principal(const std::string& tenant, const std::string& principal, Resource resource,
                                          Action action, bool is_owner, const std::vector<std::string>& roles) const {
  if (is_external_principal(principal)) {
    std::lock_guard<std::mutex> lock(mu_);
    auto t = view_.find(tenant);
    if (t != view_.end() && authorize(roles_of(t->second), roles, resource, action, is_owner)) return {};
    return Error{ErrorCode::permission_denied, principal + " may not " + action_name(action) + " " +
                                                   resource_name(resource) + " in tenant '" + tenant + "'"};
  }
  if (principal.rfind("key:", 0) != 0) return {};
  const std::string key_id = principal.substr(4);
  const Error denied{ErrorCode::permission_denied,
                     std::string("key ") + key_id + " may not " + action_name(action) + " " + resource_name(resource)};
  std::lock_guard<std::mutex> lock(mu_);
  auto t = view_.find(tenant);
  if (t == view_.end()) return denied;
  auto k = t->second.keys.find(key_id);
  if (k == t->second.keys.end() || k->second.revoked ||
      (k->second.expires_unix_ms && k->second.expires_unix_ms < unix_ms_now()))
    return denied;
  if (!authorize(roles_of(t->second), k->second.roles, resource, action, is_owner)) return denied;
  key_usage_->mark(tenant, key_id, unix_ms_now());
  return {};
}

Result<Authenticated> TenantService::login(const std::string& token, const std::string& source) {
  auto who = authenticate(token);
  auto key = parse_key(token);
  const std::string key_id = key ? key->id : "unknown";
  const std::string details = nlohmann::json{{"from", source}}.dump();
  if (who)
    audit(who->tenant, "key:" + key_id, "login.success", "key/" + key_id, {}, details);
  else
    audit(tenant_of_key(key_id), "key:" + key_id, "login.failure", "key/" + key_id, who.error(), details);
  return who;
}

std::string TenantService::tenant_of_key(const std::string& key_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, tenant] : view_)
    if (tenant.keys.count(key_id)) return name;
  return "";
}

Result<TenantRecord> TenantService::upsert(const std::string& tenant, const Quota& quota, const AuditPolicy& policy,
                                           const std::string& principal) {
  uint64_t seq = 0;
  auto changed = change(
      tenant, false,
      [&](TenantRecord& r) {
        r.quota = quota;
        r.audit_policy = policy;
        return Status();
      },
      &seq);
  audit(tenant, principal, "tenant.upsert", "tenant/" + tenant, changed ? Status() : Status(changed.error()),
        "{\"quota\":" + encode_quota(quota) + ",\"audit_policy\":" + encode_policy(policy) + "}", seq);
  return changed;
}

AuditPolicy TenantService::audit_policy(const std::string& tenant) const {
  auto record = viewed(tenant);
  return record ? record->audit_policy : AuditPolicy{};
}

Result<std::pair<std::string, std::string>> TenantService::create_key(const std::string& tenant,
                                                                      const std::vector<std::string>& roles,
                                                                      int64_t ttl_ms, const std::string& principal) {
  auto key = generate_key();
  if (!key) return key.error();
  uint64_t seq = 0;
  auto changed = change(
      tenant, true,
      [&](TenantRecord& r) {
        if (auto known = check_roles(r, roles); !known) return known;
        r.keys[key->id] = KeyRecord{key->secret_hash, roles, ttl_ms ? unix_ms_now() + ttl_ms : 0, false};
        return Status();
      },
      &seq);
  const int64_t expires = changed ? changed->keys.at(key->id).expires_unix_ms : 0;
  audit(tenant, principal, "key.create", "key/" + key->id, changed ? Status() : Status(changed.error()),
        nlohmann::json{{"roles", roles}, {"expires_unix_ms", expires}}.dump(), seq);
  if (!changed) return changed.error();
  return std::make_pair(key->id, key->token);
}

Status TenantService::check_roles(const TenantRecord& r, const std::vector<std::string>& roles) {
  const RoleSet defined = roles_of(r);
  for (const auto& role : roles)
    if (!defined.count(role))
      return Error{ErrorCode::invalid_argument,
                   "unknown role '" + role + "' (admin, developer, viewer or one of the tenant's own)"};
  return {};
}

Status TenantService::define_role(const std::string& tenant, const Role& role, const std::string& principal) {
  uint64_t seq = 0;
  auto changed = change(
      tenant, true,
      [&](TenantRecord& r) {
        if (auto ok = check_custom_role(roles_of(r), role); !ok) return ok;
        r.roles[role.name] = role;
        return Status();
      },
      &seq);
  std::vector<std::string> permissions;
  for (const auto& p : role.permissions) permissions.push_back(permission_string(p));
  audit(tenant, principal, "role.set", "role/" + role.name, changed ? Status() : Status(changed.error()),
        nlohmann::json{{"parents", role.parents}, {"permissions", permissions}}.dump(), seq);
  if (!changed) return changed.error();
  return {};
}

Status TenantService::set_key_roles(const std::string& tenant, const std::string& key_id,
                                    const std::vector<std::string>& roles, const std::string& principal) {
  std::vector<std::string> granted, revoked;
  uint64_t seq = 0;
  auto changed = change(
      tenant, true,
      [&](TenantRecord& r) {
        auto key = key_of(r, key_id);
        if (!key) return Status(key.error());
        if (auto known = check_roles(r, roles); !known) return known;
        KeyRecord& k = **key;
        granted.clear();
        revoked.clear();
        for (const auto& role : roles)
          if (std::find(k.roles.begin(), k.roles.end(), role) == k.roles.end()) granted.push_back(role);
        for (const auto& role : k.roles)
          if (std::find(roles.begin(), roles.end(), role) == roles.end()) revoked.push_back(role);
        k.roles = roles;
        return Status();
      },
      &seq);
  const Status result = changed ? Status() : Status(changed.error());
  const nlohmann::json details{{"roles", roles}, {"granted", granted}, {"revoked", revoked}};
  // One event per direction, as the spec's "permission granted/revoked".
  if (!granted.empty() || !changed)
    audit(tenant, principal, "permission.grant", "key/" + key_id, result, details.dump(), seq);
  if (!revoked.empty() && changed)
    audit(tenant, principal, "permission.revoke", "key/" + key_id, result, details.dump(), seq);
  if (!changed) return changed.error();
  return {};
}

Result<std::vector<TenantService::KeyView>> TenantService::list_keys(const std::string& tenant) {
  auto record = viewed(tenant);
  if (!record) return Error{ErrorCode::not_found, "no tenant '" + tenant + "'"};
  std::vector<KeyView> out;
  for (auto& [id, k] : record->keys) {
    KeyView v{id, k, 0};
    v.record.secret_hash.clear();
    auto used = key_usage_->last_used(tenant, id);
    if (!used) return used.error();
    v.last_used_unix_ms = *used;
    out.push_back(std::move(v));
  }
  return out;
}

Result<Usage> TenantService::usage(const std::string& tenant) {
  if (auto ok = subjects::check_token("tenant", tenant); !ok) return ok.error();
  auto last = js_->last_message(subjects::kEventsStream, subjects::usage_events(tenant));
  if (!last) return last.error();
  if (!last->has_value()) return Usage{};
  return decode_usage((*last)->second);
}

Status TenantService::revoke_key(const std::string& tenant, const std::string& key_id, const std::string& principal) {
  uint64_t seq = 0;
  auto changed = change(
      tenant, true,
      [&](TenantRecord& r) {
        auto key = key_of(r, key_id);
        if (!key) return Status(key.error());
        (*key)->revoked = true;
        return Status();
      },
      &seq);
  audit(tenant, principal, "key.revoke", "key/" + key_id, changed ? Status() : Status(changed.error()), "{}", seq);
  if (!changed) return changed.error();
  return {};
}

Status TenantService::set_secret(const std::string& tenant, const std::string& name, const std::string& value,
                                 const std::string& principal) {
  if (!secrets_) return Error{ErrorCode::unavailable, "this node has no secrets key"};
  if (auto ok = subjects::check_token("secret name", name); !ok) return ok;
  auto sealed = secrets_->seal(value, tenant + "/" + name);
  if (!sealed) return sealed.error();
  uint64_t seq = 0;
  auto changed = change(
      tenant, true,
      [&](TenantRecord& r) {
        r.secrets[name] = *sealed;
        return Status();
      },
      &seq);
  // The name only: values never reach the audit log.
  audit(tenant, principal, "secret.set", "secret/" + tenant + "/" + name, changed ? Status() : Status(changed.error()),
        "{}", seq);
  if (!changed) return changed.error();
  return {};
}

Result<std::vector<std::string>> TenantService::secret_env(const std::string& tenant,
                                                           const std::vector<std::string>& names) const {
  if (names.empty()) return std::vector<std::string>{};
  if (!secrets_) return Error{ErrorCode::unavailable, "this node has no secrets key"};
  auto record = viewed(tenant);
  std::vector<std::string> env;
  for (const auto& name : names) {
    if (!record || !record->secrets.count(name))
      return Error{ErrorCode::not_found, "tenant '" + tenant + "' has no secret '" + name + "'"};
    auto value = secrets_->open(record->secrets.at(name), tenant + "/" + name);
    if (!value) return value.error();
    env.push_back(name + "=" + *value);
  }
  return env;
}

void TenantService::on_request(const bus::Message& m) {
  if (m.reply.empty()) return;
  auto env = bp::open_envelope(m.data);
  if (!env) {
    (void)bus_.publish(m.reply, bp::error_reply("", env.error().code, env.error().message));
    return;
  }
  const std::string id = (*env)->request_id()->str();
  const std::string principal = (*env)->principal() ? (*env)->principal()->str() : "";
  // sb.v1.tenant.<op> or sb.v1.tenant.<op>.<node>: the op is the 4th token.
  const std::string rest = m.subject.substr(std::string("sb.v1.tenant.").size());
  const std::string op = rest.substr(0, rest.find('.'));
  auto answer_error = [&](const Error& e) { (void)bus_.publish(m.reply, bp::error_reply(id, e.code, e.message)); };
  if (op == "auth" && (*env)->body_as_Authenticate()) {
    auto who = login((*env)->body_as_Authenticate()->token()->str(), principal);
    if (!who) return answer_error(who.error());
    flatbuffers::FlatBufferBuilder fbb(256);
    auto p = bp::CreatePrincipal(fbb, fbb.CreateString(who->tenant), fbb.CreateString(who->key_id),
                                 fbb.CreateVectorOfStrings(who->roles));
    bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(id), 0, 0, bp::Body::Principal, p.Union()));
    (void)bus_.publish(m.reply, bp::finish(fbb));
  } else if (op == "upsert" && (*env)->body_as_TenantUpsert()) {
    const auto* u = (*env)->body_as_TenantUpsert();
    Quota q;
    q.max_concurrent = u->max_concurrent();
    q.max_total = u->max_total();
    q.max_cpus = double(u->max_cpus());  // the bus carries a float
    q.max_memory_bytes = u->max_memory_bytes();
    q.max_storage_bytes = u->max_storage_bytes();
    auto r = upsert(u->tenant()->str(), q, AuditPolicy{u->audit_retention_s(), u->audit_redact()}, principal);
    if (!r) return answer_error(r.error());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else if (op == "key-create" && (*env)->body_as_KeyCreate()) {
    const auto* k = (*env)->body_as_KeyCreate();
    std::vector<std::string> roles;
    if (k->roles())
      for (const auto* r : *k->roles()) roles.push_back(r->str());
    auto made = create_key(k->tenant()->str(), roles, k->ttl_ms(), principal);
    if (!made) return answer_error(made.error());
    flatbuffers::FlatBufferBuilder fbb(256);
    auto created = bp::CreateKeyCreated(fbb, fbb.CreateString(made->first), fbb.CreateString(made->second));
    bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(id), 0, 0, bp::Body::KeyCreated, created.Union()));
    (void)bus_.publish(m.reply, bp::finish(fbb));
  } else if (op == "secret-set" && (*env)->body_as_SecretSet()) {
    const auto* s = (*env)->body_as_SecretSet();
    if (auto st = set_secret(s->tenant()->str(), s->name()->str(), s->value()->str(), principal); !st)
      return answer_error(st.error());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else if (op == "role-set" && (*env)->body_as_RoleDefine()) {
    const auto* d = (*env)->body_as_RoleDefine();
    Role role{d->name()->str(), {}, {}};
    if (d->parents())
      for (const auto* p : *d->parents()) role.parents.push_back(p->str());
    if (d->permissions())
      for (const auto* text : *d->permissions()) {
        auto p = parse_permission(text->str());
        if (!p) return answer_error(p.error());
        role.permissions.push_back(*p);
      }
    if (auto st = define_role(d->tenant()->str(), role, principal); !st) return answer_error(st.error());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else if (op == "key-roles" && (*env)->body_as_KeyRoles()) {
    const auto* k = (*env)->body_as_KeyRoles();
    std::vector<std::string> roles;
    if (k->roles())
      for (const auto* r : *k->roles()) roles.push_back(r->str());
    if (auto st = set_key_roles(k->tenant()->str(), k->key_id()->str(), roles, principal); !st)
      return answer_error(st.error());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else if (op == "key-list" && (*env)->body_as_KeyList()) {
    auto keys = list_keys((*env)->body_as_KeyList()->tenant()->str());
    if (!keys) return answer_error(keys.error());
    flatbuffers::FlatBufferBuilder fbb(512);
    std::vector<flatbuffers::Offset<bp::KeyInfo>> infos;
    for (const auto& k : *keys)
      infos.push_back(bp::CreateKeyInfo(fbb, fbb.CreateString(k.key_id), fbb.CreateVectorOfStrings(k.record.roles),
                                        k.record.expires_unix_ms, k.record.revoked, k.last_used_unix_ms));
    auto list = bp::CreateKeyListReply(fbb, fbb.CreateVector(infos));
    bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(id), 0, 0, bp::Body::KeyListReply, list.Union()));
    (void)bus_.publish(m.reply, bp::finish(fbb));
  } else if (op == "usage" && (*env)->body_as_TenantUsage()) {
    const std::string tenant =
        (*env)->body_as_TenantUsage()->tenant() ? (*env)->body_as_TenantUsage()->tenant()->str() : "";
    auto u = usage(tenant);
    if (!u) return answer_error(u.error());
    flatbuffers::FlatBufferBuilder fbb(256);
    auto body = bp::CreateTenantUsage(fbb, fbb.CreateString(tenant), u->running, u->created_total, float(u->cpus),
                                      u->memory_bytes);
    bp::FinishReplyBuffer(fbb, bp::CreateReply(fbb, fbb.CreateString(id), 0, 0, bp::Body::TenantUsage, body.Union()));
    (void)bus_.publish(m.reply, bp::finish(fbb));
  } else if (op == "denied" && (*env)->body_as_AccessDenied()) {
    // Claims in a refused token are the caller's word: recorded as details
    // under no tenant, never in the tenant's own log.
    const auto* d = (*env)->body_as_AccessDenied();
    const std::string credential = d->credential() ? d->credential()->str() : "unknown";
    const std::string why = d->reason() ? d->reason()->str() : "refused";
    audit("", credential, "login.failure", "gateway", Error{ErrorCode::permission_denied, why},
          nlohmann::json{{"from", d->source() ? d->source()->str() : ""}, {"why", why}}.dump());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else if (op == "key-revoke" && (*env)->body_as_KeyRevoke()) {
    const auto* k = (*env)->body_as_KeyRevoke();
    if (auto st = revoke_key(k->tenant()->str(), k->key_id()->str(), principal); !st) return answer_error(st.error());
    (void)bus_.publish(m.reply, ok_reply(id));
  } else {
    answer_error(Error{ErrorCode::invalid_argument, "unknown tenant operation '" + op +
                                                        "' (auth, denied, upsert, key-create, key-list, key-revoke, "
                                                        "key-roles, role-set, secret-set, usage: docs/tenants.md)"});
  }
}

}  // namespace soulbox::tenants
