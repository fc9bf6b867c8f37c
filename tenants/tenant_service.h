// Tenants, keys and quotas, event-sourced on SB_EVENTS. Every node folds
// sb.v1.events.tenant.> into its own view (authentication reads only that,
// so a revoked key stops working everywhere as soon as the event arrives).
// Writes read the subject's newest event and publish the next one with an
// expected-last-subject-sequence check, retrying on conflict: two nodes can
// never both spend the same quota. Requests: sb.v1.tenant.<op> (queue
// group "tenants") or sb.v1.tenant.<op>.<node> (that node's view).
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_chain.h"
#include "bus/jetstream.h"
#include "storage/store.h"
#include "tenants/key_usage.h"
#include "tenants/rbac.h"
#include "tenants/record_seal.h"
#include "tenants/secret_box.h"
#include "tenants/tenant_record.h"

namespace soulbox::tenants {

struct Authenticated {
  std::string tenant, key_id;
  std::vector<std::string> roles;
};

class TenantService {
 public:
  // `secrets` may be null: then secrets can be neither set nor injected.
  // `store` (may be null) keeps the view and its last applied sequence
  // (tenants/tenant_view_store.h). Returns once the view has caught up
  // with the stream, so callers never see a tenant as missing at start-up.
  static Result<std::unique_ptr<TenantService>> start(bus::Connection& bus, const std::string& node_id,
                                                      const SecretBox* secrets = nullptr,
                                                      storage::Store* store = nullptr);
  ~TenantService();
  // Where changes, logins and refused quotas are reported (the node's audit
  // actor). Events before the first call wait for it (start-up: the bootstrap
  // key is made before the actors run). Clear it before the receiver goes.
  void set_audit(std::function<void(audit::Event)> sink);

  // Quota for one sandbox; ok (and nothing recorded) for tenants without a
  // record. Each change of a tenant's usage is tagged with `change` (e.g.
  // "end/<sandbox>"), so a restart can tell whether it happened. spend
  // returns the usage record's stream sequence before the change (0: none
  // or not recorded): what usage_changed() looks after. `before_publish`
  // gets that sequence before the change is sent (the caller records its
  // intent there); an error from it cancels the spend.
  using BeforeChange = std::function<Status(uint64_t after_seq)>;
  Result<uint64_t> spend(const std::string& tenant, const SandboxAsk& ask, const std::string& principal = "",
                         const std::string& change = "", const BeforeChange& before_publish = {});
  Status release(const std::string& tenant, const SandboxAsk& ask, const std::string& change = "");
  // Whether a usage change tagged `change` was stored after sequence
  // `after_seq` (a crash between the change and its local record leaves
  // that open; reading the tenant's usage history since settles it).
  Result<bool> usage_changed(const std::string& tenant, const std::string& change, uint64_t after_seq);
  Result<Authenticated> authenticate(const std::string& token) const;
  // authenticate(), audited as login.success or login.failure.
  Result<Authenticated> login(const std::string& token, const std::string& source);
  bool has_tenant(const std::string& tenant) const { return viewed(tenant).has_value(); }
  // SB_EVENTS records skipped because they could not be decoded (logged
  // with their stream sequence).
  uint64_t unreadable_events() const { return unreadable_events_.load(); }
  // For envelopes whose principal is "key:<id>" (set by the gateway after it
  // authenticated the key): may that key do `action` on `resource`? Other
  // principals are trusted bus callers and always may.
  // `is_owner`: the principal created the resource (for own-only permissions).
  // Principals "jwt:…" and "cert:…" (verified by the gateway) are checked
  // against `roles`, the roles their token or certificate carried.
  Status authorize_principal(const std::string& tenant, const std::string& principal, Resource resource, Action action,
                             bool is_owner = true, const std::vector<std::string>& roles = {}) const;

  // Changes; `principal` is who asked (audited with the change).
  Result<TenantRecord> upsert(const std::string& tenant, const Quota& quota, const AuditPolicy& policy = {},
                              const std::string& principal = "system");
  // This node's view of a tenant's audit policy (default: keep, no redaction).
  AuditPolicy audit_policy(const std::string& tenant) const;
  Result<std::pair<std::string, std::string>> create_key(const std::string& tenant,
                                                         const std::vector<std::string>& roles, int64_t ttl_ms,
                                                         const std::string& principal = "system");
  Status revoke_key(const std::string& tenant, const std::string& key_id, const std::string& principal = "system");
  // A tenant's own role (parents: built-in or its own; not a built-in name).
  Status define_role(const std::string& tenant, const Role& role, const std::string& principal = "system");
  // The key's roles become exactly `roles`; audited as permission.grant / permission.revoke.
  Status set_key_roles(const std::string& tenant, const std::string& key_id, const std::vector<std::string>& roles,
                       const std::string& principal = "system");
  // The tenant's keys as this node sees them, with when each was last used.
  struct KeyView {
    std::string key_id;
    KeyRecord record;  // secret_hash left empty
    int64_t last_used_unix_ms = 0;
  };
  Result<std::vector<KeyView>> list_keys(const std::string& tenant);
  // The tenant's usage now (the newest usage event).
  Result<Usage> usage(const std::string& tenant);
  Status set_secret(const std::string& tenant, const std::string& name, const std::string& value,
                    const std::string& principal = "system");
  // NAME=value for each named secret, opened from this node's view.
  Result<std::vector<std::string>> secret_env(const std::string& tenant, const std::vector<std::string>& names) const;

 private:
  TenantService(bus::Connection& bus, std::string node, const SecretBox* secrets, storage::Store* store)
      : bus_(bus), node_(std::move(node)), secrets_(secrets), store_(store) {
    if (secrets_) seal_.emplace(secrets_->derive_key(kRecordSealPurpose));
  }
  // Records as stored on SB_EVENTS: sealed when this node has the cluster's
  // key (always in soulboxd), plain JSON otherwise (tests without one).
  std::string stored_form(const TenantRecord& record) const;
  Result<TenantRecord> read_stored(const std::string& data) const;
  Status catch_up();
  // Read-modify-write of a tenant's record with the expected-sequence check.
  // `stored_seq`: set to the new event's SB_EVENTS sequence (audited with the change).
  void await_view(uint64_t seq);
  Result<TenantRecord> change(const std::string& tenant, bool must_exist,
                              const std::function<Status(TenantRecord&)>& edit, uint64_t* stored_seq = nullptr);
  // The sequence of the usage record the change was made on (0: none).
  Result<uint64_t> change_usage(const std::string& tenant, const std::function<Result<Usage>(const Usage&)>& next,
                                const std::string& change, const BeforeChange& before_publish = {});
  void on_event(uint64_t seq, std::string subject, std::string data);
  void on_request(const bus::Message& m);
  std::optional<TenantRecord> viewed(const std::string& tenant) const;
  std::string tenant_of_key(const std::string& key_id) const;  // "" when no tenant has it
  static Status check_roles(const TenantRecord& r, const std::vector<std::string>& roles);
  void audit(const std::string& tenant, const std::string& principal, const std::string& action,
             const std::string& resource, const Status& result, const std::string& details_json = "{}",
             uint64_t events_seq = 0);

  bus::Connection& bus_;
  std::string node_;
  const SecretBox* secrets_;
  std::optional<RecordSeal> seal_;
  storage::Store* store_;
  std::unique_ptr<bus::JetStream> js_;
  std::unique_ptr<KeyUsage> key_usage_;
  mutable std::mutex mu_;
  std::map<std::string, TenantRecord> view_;
  uint64_t applied_seq_ = 0;  // the newest SB_EVENTS sequence in view_
  std::condition_variable applied_cv_;
  std::unique_ptr<bus::Subscription> follow_, requests_, node_requests_;
  std::mutex audit_mu_;
  std::function<void(audit::Event)> audit_;
  std::vector<audit::Event> unsent_audit_;
  std::atomic<uint64_t> audit_count_{0};
  std::atomic<uint64_t> unreadable_events_{0};
};

}  // namespace soulbox::tenants
