#include "actors/template_catalog.h"

#include "messages/agent_protocol.h"

namespace soulbox::actors {
namespace ap = agentproto;

namespace {
// Far above what a sandbox actor counts to (it starts at 1).
constexpr uint64_t kWarmFrameIds = uint64_t(1) << 62;

const std::vector<TemplateEntry>& catalog() {
  static const std::vector<TemplateEntry> entries = {
      {"base", "base", {}},
      // What E2B's code interpreter offers warm: Python with its data stack
      // imported, and JavaScript.
      {kCodeInterpreterTemplate,
       "base",
       {{"python", {"numpy", "pandas", "matplotlib", "matplotlib.pyplot"}}, {"javascript", {}}}},
  };
  return entries;
}
}  // namespace

const TemplateEntry* find_template(const std::string& name) {
  for (const auto& entry : catalog())
    if (entry.name == name) return &entry;
  return nullptr;
}

std::string template_names() {
  std::string names;
  for (const auto& entry : catalog()) names += (names.empty() ? "" : ", ") + entry.name;
  return names;
}

std::vector<std::string> warm_context_frames(const TemplateEntry& entry) {
  std::vector<std::string> frames;
  uint64_t id = kWarmFrameIds;
  for (const auto& warm : entry.contexts) {
    flatbuffers::FlatBufferBuilder fbb(256);
    auto create = ap::CreateCtxCreate(fbb, fbb.CreateString(warm.language), 0, 0, 0,
                                      warm.preload.empty() ? 0 : fbb.CreateVectorOfStrings(warm.preload), true);
    ap::FinishFrameBuffer(fbb, ap::CreateFrame(fbb, id++, ap::Body::CtxCreate, create.Union()));
    frames.push_back(ap::encode_frame(fbb));
  }
  return frames;
}

}  // namespace soulbox::actors
