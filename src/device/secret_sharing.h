// k-of-n secret sharing of the device master key among key custodians (Shamir's scheme over
// GF(2^8), byte-wise). Fewer than k shares reveal nothing about the secret; a share whose text
// was changed is detected by its own checksum, and a wrong combination is detected by the key
// check value carried in every share.
//
// Share text format (one line, PERSISTENT):
//   gmpki-share-v1:<k>:<n>:<x>:<set-id hex16>:<y hex>:<kcv hex16>:<checksum hex16>
// where kcv = first 8 bytes of HMAC-SM3(secret, "gmpki master key check value"), set-id ties
// shares of one split together, and checksum = first 8 bytes of SM3 over the preceding text.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"

namespace gmpki::device {

struct Share {
  int k = 0;
  int n = 0;
  int x = 0;  // 1..n
  Bytes set_id;
  SecretBytes y;
  Bytes kcv;
};

// REQUIRES: 2 <= k <= n <= 255, secret non-empty.
Result<std::vector<std::string>> SplitSecret(ByteView secret, int k, int n);

// Parses and checks one share's text: kMalformedInput, or kIntegrityFailure on a bad checksum.
Result<Share> ParseShare(std::string_view text);

// Rebuilds the secret from at least k distinct shares of one set. kInvalidArgument when fewer
// than k shares, duplicates or mixed sets are given; kIntegrityFailure when the rebuilt secret
// does not match the key check value (a share's y was altered with a consistent checksum).
Result<SecretBytes> CombineShares(const std::vector<std::string>& shares);

}  // namespace gmpki::device
