// The signed feed message that carries certificate status from the business network to the
// public network (HI-02; LD/T 02.1-2022 §7.3.1: a second verification service on the public
// service network kept in sync from the business side across an isolation boundary).
//
// Wire format (README.md "Message format"), PERSISTENT: receivers of older releases must keep
// reading it, so fields are only appended.
//
//   "GMVF" | version u8 (1) | header_len u32 BE | header (JSON) | body_len u32 BE | body
//          | sig_len u16 BE | signature (DER SM2Signature)
//
// The signature is SM2 with SM3 and the GM/T 0009-2012 §10 default ID over every byte before
// sig_len, made by the business side's feed key in the crypto device. The body is a compact
// binary table (~25 bytes per status record) so a 10M-certificate snapshot stays ~250 MB, sent
// in parts.
//
// Thread safety: the functions are thread-safe; a FeedSigner made by DeviceFeedSigner may be
// shared between threads (it serialises use of its device session).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "device/device.h"
#include "services/va/status_record.h"

namespace gmpki::va_feed {

// PERSISTENT: the JSON "kind" strings "snapshot" / "delta".
enum class MessageKind { kSnapshot, kDelta };

// One CRL as the CA published it (crls table): the latest full or delta CRL of a scope.
struct CrlRecord {
  std::string ca;
  std::int64_t partition = -1;  // -1: the CA's whole scope; N >= 0: partition N
  bool delta = false;
  std::uint64_t number = 0;      // cRLNumber
  std::uint64_t delta_base = 0;  // BaseCRLNumber of a delta CRL, else 0
  Bytes der;
};

struct FeedHeader {
  MessageKind kind = MessageKind::kDelta;
  std::string source;               // the business node that exported it
  std::int64_t seq = 0;             // outbox position the receiver is at after applying it
  std::int64_t base = 0;            // delta: the seq it applies on top of (0 for a snapshot)
  std::int64_t created_ms = 0;      // export time, Unix milliseconds
  std::uint32_t part = 0;           // snapshot: index of this part (0-based)
  bool last = true;                 // snapshot: the final part (a delta is always last)
  std::string key_id;               // lower-case hex SM3 of the signer's SubjectPublicKeyInfo
  std::vector<Bytes> signer_chain;  // optional: the feed certificate, then its issuers (DER)
};

struct FeedMessage {
  FeedHeader header;
  std::vector<va::IssuerRecord> issuers;
  std::vector<va::StatusRecord> statuses;
  std::vector<CrlRecord> crls;
};

// The business side's signing key. sign_digest returns a DER SM2Signature of a 32-byte
// e = SM3(Z || M) (GB/T 32918.2 §6.1), the way a crypto device's InternalSign does.
struct FeedSigner {
  crypto::Sm2PublicKey public_key;
  std::function<Result<Bytes>(ByteView e32)> sign_digest;
  std::vector<Bytes> chain;  // carried in every header as signer_chain (may be empty)
};

// A signer over the device key labelled `key_label` (purpose kSign). kNotFound when the device
// has no such key; device errors as the device reports them.
Result<FeedSigner> DeviceFeedSigner(device::CryptoDevice& device, std::string_view key_label,
                                    std::vector<Bytes> chain = {});

// Lower-case hex SM3 of the key's DER SubjectPublicKeyInfo.
std::string KeyId(const crypto::Sm2PublicKey& key);

// Encodes `message` and signs it; header.key_id and header.signer_chain are set from `signer`.
// kInvalidArgument for a record the format cannot carry (serial not canonical hex of 1..20
// octets, negative times, reason outside -1..10, a CA name longer than 255 bytes).
Result<std::string> EncodeSigned(const FeedMessage& message, const FeedSigner& signer);

// The rough encoded size of one record, for callers that cut messages into parts.
std::size_t EstimatedSize(const va::StatusRecord& r);

// Checks the signature against the pinned `trusted` key, then parses. Errors, each specific:
//   kMalformedInput  framing, header JSON or body does not parse, or trailing bytes;
//   kUnauthenticated header.key_id names another key than the trusted one;
//   kBadSignature    the signature does not verify under the trusted key (tampered);
//   kTooLarge        more than `max_records` records in all.
// Nothing of an unverified message is parsed beyond the framing and the key id.
Result<FeedMessage> DecodeVerified(std::string_view wire, const crypto::Sm2PublicKey& trusted,
                                   std::size_t max_records = 1u << 24);

// The pinned feed key from PEM text: a "PUBLIC KEY" (SubjectPublicKeyInfo) or the feed
// "CERTIFICATE" (its subject public key). kInvalidArgument when neither parses.
Result<crypto::Sm2PublicKey> ParseTrustedFeedKey(std::string_view pem);

std::string_view KindName(MessageKind kind);

}  // namespace gmpki::va_feed
