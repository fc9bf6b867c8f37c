// The templates a node serves: each names the root filesystem it is built
// on (isolation/template_store.h) and the code contexts its sandboxes start
// with, so a pooled sandbox has warm kernels before anyone asks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace soulbox::actors {

struct WarmContext {
  std::string language;
  std::vector<std::string> preload;  // python modules imported ahead
};

struct TemplateEntry {
  std::string name;
  std::string rootfs;  // the TemplateStore template it is built on
  std::vector<WarmContext> contexts;
};

// The E2B code-interpreter SDK's default template.
inline constexpr const char* kCodeInterpreterTemplate = "code-interpreter-v1";

// nullptr when the node has no such template.
const TemplateEntry* find_template(const std::string& name);
// "base, code-interpreter-v1" (for errors).
std::string template_names();

// Agent frames (length-prefixed) that start a template's warm contexts, as
// each language's default. Their ids are from a range the sandbox actor never
// uses, so their answers are dropped.
std::vector<std::string> warm_context_frames(const TemplateEntry& entry);

}  // namespace soulbox::actors
