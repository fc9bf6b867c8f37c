// Small file helpers for control files (cgroupfs, procfs).
#pragma once
#include <string>

#include "common/result.h"

namespace soulbox::isolation {

// Writes `value` to an existing file with one write(2) (control files need
// that), no O_CREAT.
Status write_control(const std::string& path, const std::string& value);
// Reads a whole small file; the error names the path.
Result<std::string> read_small_file(const std::string& path);
// Reads a file holding one unsigned integer ("max" reads as UINT64_MAX).
Result<uint64_t> read_u64(const std::string& path);
// Creates a regular file with content (truncating), mode 0644.
Status write_new_file(const std::string& path, const std::string& content, int mode = 0644);
// mkdir that accepts an existing directory.
Status ensure_dir(const std::string& path, int mode = 0755);

}  // namespace soulbox::isolation
