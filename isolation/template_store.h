// Templates: a root filesystem directory (the read-only lower layer of every
// sandbox's overlay) plus metadata (template.json: read-only host binds).
// The default template "base" is assembled from the host: /usr is bound
// read-only and a few /etc entries are copied, so the host's interpreters
// work inside; it is rebuilt (under a new rootfs.<stamp> name) when those
// /etc entries change on the host.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "isolation/sandbox_spec.h"

namespace soulbox::isolation {

struct Template {
  std::string name;
  std::string rootfs;            // absolute path of the lower layer
  std::vector<BindMount> binds;  // applied on top of the overlay, in order
};

class TemplateStore {
 public:
  explicit TemplateStore(std::string templates_dir);
  // Loads <dir>/<name>/template.json; "base" is built on first use.
  Result<Template> get(const std::string& name);

 private:
  Status build_base(const std::string& dir, const std::string& stamp);
  Result<Template> load(const std::string& name);
  std::string dir_;
  std::map<std::string, Template> cache_;  // templates are immutable once built
};

}  // namespace soulbox::isolation
