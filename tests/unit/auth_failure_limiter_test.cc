// The gateway's failed-authentication limiter: counting per source and
// window, known-good credentials exempt, bounded tables.
#include "gateway/auth_failure_limiter.h"

#include <catch2/catch.hpp>

namespace {

using namespace soulbox::gateway;

AuthFailureLimits limits(int max_failures, double window_s) {
  AuthFailureLimits l;
  l.max_failures = max_failures;
  l.window_s = window_s;
  return l;
}

TEST_CASE("failures are counted per IPv4 address and per IPv6 /64", "[gateway][auth-limit]") {
  CHECK(auth_source("127.0.0.1:43210") == "127.0.0.1");
  CHECK(auth_source("10.1.2.3:80") == "10.1.2.3");
  CHECK(auth_source("::ffff:10.1.2.3:80") == "10.1.2.3");  // IPv4-mapped: the IPv4 address
  CHECK(auth_source("2001:db8:1:2:aaaa::1:443") == "2001:db8:1:2::/64");
  CHECK(auth_source("2001:db8:1:2:bbbb:cccc:dddd:eeee:443") == "2001:db8:1:2::/64");  // same /64
  CHECK(auth_source("[2001:db8:1:3::1]:443") == "2001:db8:1:3::/64");
  CHECK(auth_source("::1:5000") == "::/64");
  CHECK(auth_source("fe80::1%eth0:22") == "fe80::/64");
  CHECK(auth_source("") == "");
  CHECK(auth_source("not an address") == "not an address");
}

TEST_CASE("a source past its limit waits until its window ends and is then checked again", "[gateway][auth-limit]") {
  AuthFailureLimiter l(limits(3, 60));
  for (int i = 0; i < 3; ++i) {
    CHECK(l.wait_s("10.0.0.1", "bad", 100 + i) == 0);
    l.failed("10.0.0.1", "bad", 100 + i);
  }
  CHECK(l.wait_s("10.0.0.1", "bad", 103) == 57);  // the window opened at the first failure
  CHECK(l.wait_s("10.0.0.1", "other", 159.5) == 1);
  CHECK(l.wait_s("10.0.0.2", "bad", 103) == 0);  // other sources are not affected
  CHECK(l.wait_s("10.0.0.1", "bad", 160) == 0);  // a new window
  l.failed("10.0.0.1", "bad", 160);
  CHECK(l.wait_s("10.0.0.1", "bad", 161) == 0);  // one failure in it so far
}

TEST_CASE("failures spread thinner than the limit per window never block", "[gateway][auth-limit]") {
  AuthFailureLimiter l(limits(3, 10));
  for (int i = 0; i < 20; ++i) {
    CHECK(l.wait_s("10.0.0.1", "bad", i * 5.0) == 0);
    l.failed("10.0.0.1", "bad", i * 5.0);
  }
}

TEST_CASE("credentials accepted recently pass a blocked source and refused ones stop being known good",
          "[gateway][auth-limit]") {
  AuthFailureLimits lim = limits(2, 1000);
  lim.known_good_s = 100;
  AuthFailureLimiter l(lim);
  l.accepted("sb_good_secret", 0);
  l.accepted("sb_revoked_later", 0);
  l.failed("127.0.0.1", "sb_bad_1", 1);
  l.failed("127.0.0.1", "sb_bad_2", 2);
  CHECK(l.wait_s("127.0.0.1", "sb_bad_3", 3) > 0);
  CHECK(l.wait_s("127.0.0.1", "sb_good_secret", 3) == 0);  // known good
  CHECK(l.wait_s("127.0.0.1", "sb_never_seen", 3) > 0);    // not known: it waits too
  CHECK(l.wait_s("127.0.0.1", "sb_good_secret", 99) == 0);
  CHECK(l.wait_s("127.0.0.1", "sb_good_secret", 100.5) > 0);  // remembered for 100 s only
  l.accepted("sb_good_secret", 101);                          // accepted again (e.g. from another source)
  CHECK(l.wait_s("127.0.0.1", "sb_good_secret", 102) == 0);
  CHECK(l.wait_s("127.0.0.1", "sb_revoked_later", 10) == 0);
  l.failed("127.0.0.1", "sb_revoked_later", 11);  // e.g. revoked since: refused now
  CHECK(l.wait_s("127.0.0.1", "sb_revoked_later", 12) > 0);
}

TEST_CASE("an unlimited limiter never refuses", "[gateway][auth-limit]") {
  AuthFailureLimiter l(limits(0, 60));
  for (int i = 0; i < 100; ++i) l.failed("10.0.0.1", "bad", 1);
  CHECK(l.wait_s("10.0.0.1", "bad", 2) == 0);
}

TEST_CASE("a full table of sources makes new sources share one entry so a rotating attacker is still limited",
          "[gateway][auth-limit]") {
  AuthFailureLimits lim = limits(2, 60);
  lim.max_sources = 4;
  AuthFailureLimiter l(lim);
  for (int i = 0; i < 4; ++i) l.failed("10.0.0." + std::to_string(i), "bad", 1);  // the table is full
  for (int i = 4; i < 6; ++i) {
    CHECK(l.wait_s("10.0.0." + std::to_string(i), "bad", 2) == 0);
    l.failed("10.0.0." + std::to_string(i), "bad", 2);
  }
  CHECK(l.wait_s("10.0.0.77", "bad", 3) > 0);  // counted together past the table
  CHECK(l.wait_s("10.0.0.0", "bad", 3) == 0);  // the tracked ones keep their own count
  // Ended windows make room again.
  CHECK(l.wait_s("10.0.0.88", "bad", 70) == 0);
  l.failed("10.0.0.88", "bad", 70);
  l.failed("10.0.0.88", "bad", 70);
  CHECK(l.wait_s("10.0.0.88", "bad", 71) > 0);
  CHECK(l.wait_s("10.0.0.99", "bad", 71) == 0);  // its own entry now, not the overflow's
}

TEST_CASE("known-good credentials are bounded: the oldest acceptance is forgotten first", "[gateway][auth-limit]") {
  AuthFailureLimits lim = limits(1, 60);
  lim.max_known_good = 3;
  AuthFailureLimiter l(lim);
  for (int i = 0; i < 4; ++i) l.accepted("key" + std::to_string(i), i);
  l.failed("10.0.0.1", "bad", 5);
  CHECK(l.wait_s("10.0.0.1", "key0", 6) > 0);  // forgotten
  for (int i = 1; i < 4; ++i) CHECK(l.wait_s("10.0.0.1", "key" + std::to_string(i), 6) == 0);
}

}  // namespace
