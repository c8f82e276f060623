// Shamir's (k, n) threshold scheme, byte-wise over GF(2^8) (A. Shamir, "How to share a secret",
// CACM 22(11), 1979). For each secret byte s a polynomial f(x) = s + a1 x + ... + a(k-1) x^(k-1)
// with uniformly random coefficients is drawn; share i holds f(i). Any k points determine f and
// so f(0) = s; k-1 points are consistent with every value of s by exactly one polynomial each,
// so they reveal nothing about s.
#include "device/secret_sharing.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "crypto/random.h"
#include "crypto/sm3.h"
#include "device/gf256.h"

namespace gmpki::device {
namespace {

constexpr std::string_view kSharePrefix = "gmpki-share-v1";
constexpr std::string_view kKcvLabel = "gmpki master key check value";
constexpr std::size_t kSetIdSize = 8;
constexpr std::size_t kKcvSize = 8;
constexpr std::size_t kChecksumSize = 8;
// A master key is 16 bytes; the bound only keeps a pasted share text from being unbounded.
constexpr std::size_t kMaxSecretSize = 1024;
constexpr std::size_t kMaxShareText = 128 + 2 * kMaxSecretSize;

Bytes KeyCheckValue(ByteView secret) {
  const crypto::Sm3Digest mac = crypto::HmacSm3(secret, AsBytes(kKcvLabel));
  return Bytes(mac.begin(), mac.begin() + kKcvSize);
}

std::string Checksum(std::string_view text) {
  const crypto::Sm3Digest d = crypto::Sm3(AsBytes(text));
  return HexEncode(ByteView(d.data(), kChecksumSize));
}

std::string_view TrimAsciiSpace(std::string_view s) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = s.find(':', start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// Decimal 1..255, no sign, no leading zero.
Result<int> ParseSmallInt(std::string_view field, std::string_view what) {
  if (field.empty() || field.size() > 3 || (field.size() > 1 && field[0] == '0') ||
      !std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error(ErrorCode::kMalformedInput, "share: bad " + std::string(what));
  }
  int v = 0;
  std::from_chars(field.data(), field.data() + field.size(), v);
  if (v < 1 || v > 255) {
    return Error(ErrorCode::kMalformedInput, "share: " + std::string(what) + " out of range");
  }
  return v;
}

Result<Bytes> ParseHexField(std::string_view field, std::size_t expected_size,
                            std::string_view what) {
  auto decoded = HexDecode(field);
  if (!decoded || (expected_size != 0 && decoded->size() != expected_size) || decoded->empty()) {
    return Error(ErrorCode::kMalformedInput, "share: bad " + std::string(what));
  }
  return std::move(decoded).value();
}

}  // namespace

std::string FormatShare(const Share& share) {
  std::string text;
  text.reserve(96 + 2 * share.y.size());
  text.append(kSharePrefix);
  text += ':' + std::to_string(share.k) + ':' + std::to_string(share.n) + ':' +
          std::to_string(share.x) + ':';
  text += HexEncode(share.set_id);
  text += ':';
  text += HexEncode(share.y.view());
  text += ':';
  text += HexEncode(share.kcv);
  const std::string checksum = Checksum(text);
  text += ':';
  text += checksum;
  return text;
}

Result<std::vector<std::string>> SplitSecret(ByteView secret, int k, int n) {
  if (k < 2 || n < k || n > 255) {
    return Error(ErrorCode::kInvalidArgument, "secret sharing needs 2 <= k <= n <= 255");
  }
  if (secret.empty() || secret.size() > kMaxSecretSize) {
    return Error(ErrorCode::kInvalidArgument, "secret must be 1..1024 bytes");
  }
  const std::size_t len = secret.size();
  const std::size_t degree = static_cast<std::size_t>(k - 1);

  // coefficients[j * len + b] is a_(j+1) of the polynomial for secret byte b.
  SecretBytes coefficients(degree * len);
  GMPKI_RETURN_IF_ERROR(
      crypto::RandomFill(std::span<std::uint8_t>(coefficients.data(), coefficients.size())));

  Bytes set_id(kSetIdSize);
  GMPKI_RETURN_IF_ERROR(crypto::RandomFill(set_id));
  const Bytes kcv = KeyCheckValue(secret);

  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int x = 1; x <= n; ++x) {
    Share share;
    share.k = k;
    share.n = n;
    share.x = x;
    share.set_id = set_id;
    share.kcv = kcv;
    share.y = SecretBytes(len);
    const auto xb = static_cast<std::uint8_t>(x);
    for (std::size_t b = 0; b < len; ++b) {
      // Horner: f(x) = (((a(k-1) x + a(k-2)) x + ...) x + a1) x + s.
      std::uint8_t acc = 0;
      for (std::size_t j = degree; j >= 1; --j) {
        acc = gf256::Add(gf256::Mul(acc, xb), coefficients[(j - 1) * len + b]);
      }
      acc = gf256::Add(gf256::Mul(acc, xb), secret[b]);
      share.y[b] = acc;
    }
    out.push_back(FormatShare(share));
  }
  return out;
}

Result<Share> ParseShare(std::string_view text) {
  text = TrimAsciiSpace(text);
  if (text.size() > kMaxShareText) {
    return Error(ErrorCode::kMalformedInput, "share: text too long");
  }
  const std::vector<std::string_view> fields = SplitFields(text);
  if (fields.size() != 8 || fields[0] != kSharePrefix) {
    return Error(ErrorCode::kMalformedInput, "share: not a gmpki-share-v1 line");
  }
  // The checksum is verified first: a typing error in any field is reported as such, not as
  // whatever field-level complaint the altered text would otherwise provoke.
  const std::size_t last_colon = text.rfind(':');
  const std::string_view covered = text.substr(0, last_colon);
  GMPKI_ASSIGN_OR_RETURN(Bytes given_checksum,
                         ParseHexField(fields[7], kChecksumSize, "checksum"));
  const crypto::Sm3Digest digest = crypto::Sm3(AsBytes(covered));
  if (!ConstantTimeEqual(given_checksum, ByteView(digest.data(), kChecksumSize))) {
    return Error(ErrorCode::kIntegrityFailure, "share: checksum mismatch (share text altered)");
  }

  Share share;
  GMPKI_ASSIGN_OR_RETURN(share.k, ParseSmallInt(fields[1], "k"));
  GMPKI_ASSIGN_OR_RETURN(share.n, ParseSmallInt(fields[2], "n"));
  GMPKI_ASSIGN_OR_RETURN(share.x, ParseSmallInt(fields[3], "x"));
  if (share.k < 2 || share.n < share.k || share.x > share.n) {
    return Error(ErrorCode::kMalformedInput, "share: inconsistent k, n, x");
  }
  GMPKI_ASSIGN_OR_RETURN(share.set_id, ParseHexField(fields[4], kSetIdSize, "set id"));
  {
    GMPKI_ASSIGN_OR_RETURN(Bytes y, ParseHexField(fields[5], 0, "y"));
    if (y.size() > kMaxSecretSize) {
      SecureZero(y.data(), y.size());
      return Error(ErrorCode::kMalformedInput, "share: y too long");
    }
    share.y = SecretBytes::Adopt(y);
  }
  GMPKI_ASSIGN_OR_RETURN(share.kcv, ParseHexField(fields[6], kKcvSize, "kcv"));
  return share;
}

Result<SecretBytes> CombineShares(const std::vector<std::string>& texts) {
  if (texts.empty()) return Error(ErrorCode::kInvalidArgument, "no shares given");
  std::vector<Share> shares;
  shares.reserve(texts.size());
  for (const std::string& t : texts) {
    GMPKI_ASSIGN_OR_RETURN(Share s, ParseShare(t));
    shares.push_back(std::move(s));
  }

  const Share& first = shares.front();
  std::set<int> xs;
  for (const Share& s : shares) {
    if (s.k != first.k || s.n != first.n || s.set_id != first.set_id || s.kcv != first.kcv ||
        s.y.size() != first.y.size()) {
      return Error(ErrorCode::kInvalidArgument, "shares belong to different splits");
    }
    if (!xs.insert(s.x).second) {
      return Error(ErrorCode::kInvalidArgument,
                   "share " + std::to_string(s.x) + " given more than once");
    }
  }
  if (static_cast<int>(shares.size()) < first.k) {
    return Error(ErrorCode::kInvalidArgument,
                 "need " + std::to_string(first.k) + " shares, got " +
                     std::to_string(shares.size()));
  }

  // Lagrange interpolation at 0: s = sum_i y_i * l_i with l_i = prod_(j != i) x_j / (x_j - x_i).
  // All given shares are used, so an extra but altered share also fails the check value.
  // The l_i depend only on the public x coordinates.
  const std::size_t m = shares.size();
  std::vector<std::uint8_t> basis(m);
  for (std::size_t i = 0; i < m; ++i) {
    std::uint8_t num = 1;
    std::uint8_t den = 1;
    const auto xi = static_cast<std::uint8_t>(shares[i].x);
    for (std::size_t j = 0; j < m; ++j) {
      if (j == i) continue;
      const auto xj = static_cast<std::uint8_t>(shares[j].x);
      num = gf256::Mul(num, xj);
      den = gf256::Mul(den, gf256::Add(xj, xi));
    }
    basis[i] = gf256::Div(num, den);
  }
  SecretBytes secret(first.y.size());
  for (std::size_t b = 0; b < secret.size(); ++b) {
    std::uint8_t acc = 0;
    for (std::size_t i = 0; i < m; ++i) acc ^= gf256::Mul(shares[i].y[b], basis[i]);
    secret[b] = acc;
  }

  if (!ConstantTimeEqual(KeyCheckValue(secret.view()), first.kcv)) {
    return Error(ErrorCode::kIntegrityFailure,
                 "rebuilt secret does not match the key check value (a share is wrong)");
  }
  return secret;
}

}  // namespace gmpki::device
