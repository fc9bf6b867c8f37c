// Tenants, keys and quotas, event-sourced on SB_EVENTS. Every node folds
// sb.v1.events.tenant.> into its own view (authentication reads only that,
// so a revoked key stops working everywhere as soon as the event arrives).
// Writes read the subject's newest event and publish the next one with an
// expected-last-subject-sequence check, retrying on conflict: two nodes can
// never both spend the same quota. Requests: sb.v1.tenant.<op> (queue
// group "tenants") or sb.v1.tenant.<op>.<node> (that node's view).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/jetstream.h"
#include "tenants/rbac.h"
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
  static Result<std::unique_ptr<TenantService>> start(bus::Connection& bus, const std::string& node_id,
                                                      const SecretBox* secrets = nullptr);
  ~TenantService();

  // Quota for one sandbox; ok (and nothing recorded) for tenants without a record.
  Status spend(const std::string& tenant, const SandboxAsk& ask);
  Status release(const std::string& tenant, const SandboxAsk& ask);
  Result<Authenticated> authenticate(const std::string& token) const;
  bool has_tenant(const std::string& tenant) const { return viewed(tenant).has_value(); }
  // For envelopes whose principal is "key:<id>" (set by the gateway after it
  // authenticated the key): may that key do `action` on `resource`? Other
  // principals are trusted bus callers and always may.
  Status authorize_principal(const std::string& tenant, const std::string& principal, Resource resource,
                             Action action) const;

  Result<TenantRecord> upsert(const std::string& tenant, const Quota& quota);
  Result<std::pair<std::string, std::string>> create_key(const std::string& tenant,
                                                         const std::vector<std::string>& roles, int64_t ttl_ms);
  Status revoke_key(const std::string& tenant, const std::string& key_id);
  Status set_secret(const std::string& tenant, const std::string& name, const std::string& value);
  // NAME=value for each named secret, opened from this node's view.
  Result<std::vector<std::string>> secret_env(const std::string& tenant, const std::vector<std::string>& names) const;

 private:
  TenantService(bus::Connection& bus, std::string node, const SecretBox* secrets)
      : bus_(bus), node_(std::move(node)), secrets_(secrets) {}
  // Read-modify-write of a tenant's record with the expected-sequence check.
  Result<TenantRecord> change(const std::string& tenant, bool must_exist,
                              const std::function<Status(TenantRecord&)>& edit);
  Status change_usage(const std::string& tenant, const std::function<Result<Usage>(const Usage&)>& next);
  void on_event(std::string subject, std::string data);
  void on_request(const bus::Message& m);
  std::optional<TenantRecord> viewed(const std::string& tenant) const;

  bus::Connection& bus_;
  std::string node_;
  const SecretBox* secrets_;
  std::unique_ptr<bus::JetStream> js_;
  mutable std::mutex mu_;
  std::map<std::string, TenantRecord> view_;
  std::unique_ptr<bus::Subscription> follow_, requests_, node_requests_;
};

}  // namespace soulbox::tenants
