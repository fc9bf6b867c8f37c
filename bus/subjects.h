// Every NATS subject SoulBox uses, built in one place (docs/bus.md).
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox::bus::subjects {

// A token is one dot-free piece of a subject: [A-Za-z0-9_-], 1..64 chars.
// Ids from clients pass through here before they become subjects, so a
// tenant cannot name "*", ">" or "a.b" and reach other subjects.
bool valid_token(const std::string& token);
Status check_token(const char* what, const std::string& token);

inline constexpr const char* kPrefix = "sb.v1";

std::string sched_place();                                                          // sb.v1.sched.place (queue group)
std::string node_op(const std::string& node, const std::string& op);                // sb.v1.node.<node>.<op>
std::string sandbox_op(const std::string& sandbox, const std::string& op);          // sb.v1.sbx.<id>.<op>
std::string sandbox_events(const std::string& sandbox, const std::string& stream);  // sb.v1.sbx.<id>.ev.<stream>
std::string node_ops(const std::string& node);                                      // sb.v1.node.<node>.*
std::string sandbox_ops(const std::string& sandbox);                                // sb.v1.sbx.<id>.*
std::string node_heartbeat(const std::string& node);                                // sb.v1.nodes.hb.<node>
std::string node_heartbeats();                                                      // sb.v1.nodes.hb.*
std::string tenant_op(const std::string& op);                                       // sb.v1.tenant.<op>
std::string tenant_ops();                                                           // sb.v1.tenant.*
std::string tenant_node_op(const std::string& op, const std::string& node);         // sb.v1.tenant.<op>.<node>
std::string tenant_node_ops(const std::string& node);                               // sb.v1.tenant.*.<node>
std::string tenant_events(const std::string& tenant);                               // sb.v1.events.tenant.<tenant>
std::string tenant_events_all();                                                    // sb.v1.events.tenant.>
std::string usage_events(const std::string& tenant);                                // sb.v1.events.usage.<tenant>
std::string audit_op(const std::string& op);                                        // sb.v1.audit.<op>
std::string jobs(const std::string& tenant);                                        // sb.v1.jobs.<tenant>
std::string all_jobs();                                                             // sb.v1.jobs.*
std::string job_lookup();                                                           // sb.v1.jobres.get (queue "jobs")
std::string job_dead_letter(const std::string& tenant);                             // sb.v1.jobdead.<tenant>
// Where a job may send its result: an inbox or a service's own subject, never
// a SoulBox subject other than sb.v1.jobres.*; no wildcards.
Status check_reply_subject(const std::string& subject);

// The last token of a subject (the op of sb.v1.sbx.<id>.<op>).
std::string last_token(const std::string& subject);

// JetStream streams and the subjects they capture.
inline constexpr const char* kJobsStream = "SB_JOBS";      // sb.v1.jobs.>
inline constexpr const char* kEventsStream = "SB_EVENTS";  // sb.v1.events.>
inline constexpr const char* kAuditStream = "SB_AUDIT";    // sb.v1.audit.events.>

}  // namespace soulbox::bus::subjects
