// The audit log over HTTP (GET /v1/audit): every node's records from the
// SB_AUDIT stream, each node's chain checked (order, links, digests and
// hashes; signatures need the node's key: `soulboxd audit verify` on the
// node), filtered and formatted as `soulboxd audit query` does.
#include <map>
#include <nlohmann/json.hpp>

#include "audit/audit_query.h"
#include "bus/subjects.h"
#include "gateway/e2b_errors.h"
#include "gateway/e2b_gateway.h"
#include "gateway/json_text.h"

namespace soulbox::gateway {
namespace {

using json = nlohmann::json;
constexpr size_t kDefaultLimit = 1000, kMaxLimit = 100000;

}  // namespace

void E2bGateway::audit_query(const HttpRequest& req, ResponseWriter& out, const Caller& caller) {
  const bool admin = std::find(caller.roles.begin(), caller.roles.end(), "admin") != caller.roles.end();
  if (!admin) return send_error(out, 403, caller.principal + " is not an admin");
  if (!jetstream_) return send_error(out, 503, "the audit stream needs JetStream, which this gateway cannot reach");
  audit::Query q;
  q.tenant = req.query_param("tenant");
  if (caller.tenant != options_.system_tenant) {
    if (!q.tenant.empty() && q.tenant != caller.tenant)
      return send_error(out, 404, "tenant " + q.tenant + " not found");
    q.tenant = caller.tenant;  // a tenant's admins see their tenant only
  }
  q.principal = req.query_param("principal");
  q.action = req.query_param("action");
  q.resource = req.query_param("resource");
  auto from = query_number(req, "from_ms", 0, int64_t(1) << 50), to = query_number(req, "to_ms", 0, int64_t(1) << 50);
  auto limit = query_number(req, "limit", kDefaultLimit, kMaxLimit);
  if (!from || !to || !limit) return send_error(out, 400, (!from ? from : !to ? to : limit).error().message);
  q.from_ms = *from;
  q.to_ms = *to;
  q.limit = size_t(*limit ? *limit : kDefaultLimit);
  auto format = audit::parse_format(req.query_param("format").empty() ? "json" : req.query_param("format"));
  if (!format) return send_error(out, 400, format.error().message);

  auto stored = jetstream_->read_all(bus::subjects::kAuditStream, "sb.v1.audit.events.>");
  if (!stored) return send_error(out, stored.error());
  std::map<std::string, std::vector<audit::Record>> by_node;
  for (const auto& m : *stored)
    if (auto r = audit::decode_record(m.data)) by_node[m.subject.substr(m.subject.rfind('.') + 1)].push_back(*r);
  std::vector<audit::Found> found;
  json chains = json::object();
  for (const auto& [node, records] : by_node) {
    const audit::VerifyReport report = audit::verify_links(records);
    const size_t good = report.ok ? records.size() : report.first_bad;
    chains[node] = report.ok ? json{{"records", records.size()}, {"linked", true}}
                             : json{{"records", records.size()}, {"linked", false}, {"why", report.why}};
    for (auto& f : audit::run_query(records, good, q)) found.push_back(std::move(f));
  }
  std::sort(found.begin(), found.end(), [](const audit::Found& a, const audit::Found& b) {
    return a.record.event.unix_ms < b.record.event.unix_ms;
  });
  if (found.size() > q.limit) found.resize(q.limit);
  std::string body = *format == audit::Format::csv ? audit::csv_header() + "\n" : "";
  for (const auto& f : found) body += audit::format_record(f, *format) + "\n";
  const char* type = *format == audit::Format::json ? "application/x-ndjson" : "text/plain";
  out.send(200, type, body, {{"X-Audit-Chains", json_text(chains)}});
}

}  // namespace soulbox::gateway
