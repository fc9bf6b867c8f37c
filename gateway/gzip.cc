#include "gateway/gzip.h"

#include <zlib.h>

#include <memory>

namespace soulbox::gateway {

Result<std::string> gunzip(const std::string& data, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Error{ErrorCode::internal, "zlib did not start"};
  std::unique_ptr<z_stream, int (*)(z_stream*)> end(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END)
      return Error{ErrorCode::invalid_argument, std::string("the gzip body is corrupt: ") + (z.msg ? z.msg : "?")};
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > max_bytes)
      return Error{ErrorCode::resource_exhausted,
                   "the gzip body inflates past " + std::to_string(max_bytes >> 20) + " MiB"};
    if (rc == Z_STREAM_END) return out;
    if (z.avail_in == 0 && z.avail_out != 0) return Error{ErrorCode::invalid_argument, "the gzip body is cut short"};
  }
}

}  // namespace soulbox::gateway
