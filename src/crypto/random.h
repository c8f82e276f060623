// The project's one source of randomness (a DRBG seeded by the operating system).
#pragma once

#include <span>

#include "base/bytes.h"

namespace gmpki::crypto {

Status RandomFill(std::span<std::uint8_t> out);
Result<Bytes> RandomBytes(std::size_t n);

}  // namespace gmpki::crypto
