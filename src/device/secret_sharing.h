// k-of-n secret sharing of the device master key among key custodians (Shamir's scheme over
// GF(2^8), byte-wise). Fewer than k shares reveal nothing about the secret; a share whose text
// was changed is detected by its own checksum, and a wrong combination is detected by the key
// check value carried in every share.
//
// Share text format (one line, PERSISTENT):
//   gmpki-share-v1:<k>:<n>:<x>:<set-id hex16>:<y hex>:<kcv hex16>:<checksum hex16>
// where kcv = first 8 bytes of HMAC-SM3(secret, "gmpki master key check value"), set-id ties
// shares of one split together, and checksum = first 8 bytes of SM3 over the preceding text.
// Precisely: <k>, <n>, <x> are decimal without leading zeros; hex is written lower case (and
// read in either case); the checksum covers the exact characters from "gmpki-share-v1" up to
// but not including the ':' before the checksum. Leading and trailing ASCII whitespace (a
// pasted newline) is ignored when parsing. Coefficients of the polynomials are drawn from
// crypto::RandomFill; the field is GF(2^8) with the AES polynomial (FIPS 197 section 4).
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

// Writes a share in the text format above, computing its checksum. SplitSecret uses it; tests
// use it to build shares whose checksum is consistent but whose content is wrong.
// REQUIRES: set_id and kcv are 8 bytes, y non-empty.
std::string FormatShare(const Share& share);

}  // namespace gmpki::device
