// Reading the audit log: filters, redaction, CSV and syslog output, the
// compliance report.
#include "audit/audit_query.h"

#include <algorithm>
#include <catch2/catch.hpp>

namespace {

using namespace soulbox;
using namespace soulbox::audit;

Found found(const std::string& tenant, const std::string& principal, const std::string& action,
            const std::string& resource, const std::string& result, int64_t ms, const std::string& details = "{}") {
  Found f;
  f.record.seq = uint64_t(ms);
  f.record.hash = "abc";
  f.record.event = Event{"id", ms, tenant, principal, action, resource, result, "10.1.2.3", details};
  f.verified = true;
  return f;
}

std::vector<Record> records() {
  std::vector<Record> out;
  for (const auto& f : {found("t1", "key:a", "file.read", "sandbox/sb-1:/home/user/x", "ok", 1000),
                        found("t1", "key:b", "file.write", "sandbox/sb-1:/home/user/y", "ok", 2000),
                        found("t2", "key:c", "sandbox.create", "sandbox/sb-2", "ok", 3000),
                        found("t1", "key:a", "login.failure", "key/a", "denied", 4000)})
    out.push_back(f.record);
  return out;
}

TEST_CASE("queries filter by time, tenant, principal, action and resource prefixes", "[audit]") {
  const auto r = records();
  auto count = [&](Query q) { return run_query(r, r.size(), q).size(); };
  CHECK(count({}) == 4);
  CHECK(count({1500, 3500, "", "", "", "", 0}) == 2);
  CHECK(count({0, 0, "t1", "", "", "", 0}) == 3);
  CHECK(count({0, 0, "", "key:a", "", "", 0}) == 2);
  CHECK(count({0, 0, "", "", "file.", "", 0}) == 2);
  CHECK(count({0, 0, "", "", "", "sandbox/sb-2", 0}) == 1);
  CHECK(count({0, 0, "t1", "", "", "", 1}) == 1);
  // Records from the first bad index on are returned as unverified.
  const auto partly = run_query(r, 2, {});
  CHECK(partly[1].verified);
  CHECK_FALSE(partly[2].verified);
}

TEST_CASE("redaction keeps events countable and people recognisable, not identifiable", "[audit]") {
  const Event e{"id",
                1,
                "t1",
                "key:alice",
                "file.read",
                "sandbox/sb-1:/home/user/alice-cv.pdf",
                "ok",
                "192.168.7.9",
                R"({"email":"alice@example.com","bytes":12,"ip":"192.168.7.9"})"};
  const Event r = redact(e);
  CHECK(r.principal != e.principal);
  CHECK(r.principal.rfind("redacted-", 0) == 0);
  CHECK(redact(e).principal == r.principal);  // stable pseudonym
  CHECK(r.resource == "sandbox/sb-1:[path redacted]");
  CHECK(r.source.find("192.168") == std::string::npos);
  CHECK(r.details.find("alice") == std::string::npos);
  CHECK(r.details.find("\"bytes\":12") != std::string::npos);
  CHECK(r.action == e.action);
  CHECK(r.tenant == e.tenant);
  Event login = e;
  login.resource = "key/0123456789ab";
  CHECK(redact(login).resource.find("0123456789ab") == std::string::npos);
}

TEST_CASE("CSV quotes what needs it and syslog lines follow RFC 5424", "[audit]") {
  const Found f =
      found("t1", "key:a", "file.read", "sandbox/sb-1:/a,b", "denied", 1700000000123, R"({"why":"say \"no\"]"})");
  const std::string csv = format_record(f, Format::csv);
  CHECK(csv.find("\"sandbox/sb-1:/a,b\"") != std::string::npos);
  CHECK(csv.find(R"("{""why"":""say \""no\""]""}")") != std::string::npos);
  CHECK(csv.rfind("1700000000123,2023-11-14T22:13:20.123Z,t1,key:a,file.read", 0) == 0);
  const std::string header = csv_header();
  CHECK(std::count(header.begin(), header.end(), ',') == 11);
  const std::string syslog = format_record(f, Format::syslog);
  CHECK(syslog.rfind("<84>1 2023-11-14T22:13:20.123Z 10.1.2.3 soulboxd - file.read [soulbox@32473 ", 0) == 0);
  CHECK(syslog.find("resource=\"sandbox/sb-1:/a,b\"") != std::string::npos);
  CHECK(syslog.find("verified=\"true\"") != std::string::npos);
  const std::string json = format_record(f, Format::json);
  CHECK(json.find("\"verified\":true") != std::string::npos);
  CHECK(parse_format("xml").error().code == ErrorCode::invalid_argument);
}

TEST_CASE("the compliance report counts failed logins, violations and exports per tenant", "[audit]") {
  std::vector<Found> all;
  for (const auto& r : records()) all.push_back(Found{r, true});
  all.push_back(found("t1", "key:b", "permission.denied", "sandbox/sb-1", "denied", 5000));
  all.push_back(found("t1", "key:b", "quota.exceeded", "tenant/t1", "error", 6000));
  all.push_back(found("t1", "key:z", "login.failure", "key/z", "denied", 7000));
  const auto report = compliance_report(all);
  const auto& t1 = report.at("t1");
  CHECK(t1.events == 6);
  CHECK(t1.failed_logins == 2);
  CHECK(t1.failed_logins_by_principal.at("key:a") == 1);
  CHECK(t1.policy_violations == 4);  // two failed logins (denied), a denied action, a refused quota
  CHECK(t1.data_exports == 1);
  CHECK(report.at("t2").events == 1);
}

}  // namespace
