// Signed tree heads and offline evidence bundles of the evidence log.
//
// To-be-signed bytes of a tree head (PERSISTENT), the TLS encoding of RFC 9162 §4.10
// TreeHeadDataV2 with no extensions, 51 bytes:
//   u64be(timestamp_ms) || u64be(tree_size) || u8(32) || root_hash(32) || u16be(0)
// signed with SM2 (GB/T 32918.2) by the log key under the GM/T 0009 default ID
// "1234567812345678": e = SM3(Z_log || tbs); the signature is a DER SM2Signature.
// The log key is dedicated to tree heads (never used for other messages).
//
// Bundle (JSON, PERSISTENT field names), everything a relying party needs offline:
//   { "format": "gmpki-evidence-bundle-v1",
//     "leaf_index": N,
//     "record": { "kind", "time_ms", "actor", "application", "object", "decision",
//                 "outcome", "details" (the JSON text as a string) },
//     "tree_head": { "tree_size", "timestamp_ms", "root_hash" (base64),
//                    "signature" (base64 DER) },
//     "inclusion_proof": [ base64 node hashes, leaf's sibling first ],
//     "log_public_key": base64 DER SubjectPublicKeyInfo,
//     "log_certificate": base64 DER (present when the log has a certificate) }
// Verification (VerifyBundle): the tree head signature under the TRUSTED log key (the key in
// the bundle is only a hint and must equal it), leaf hash = SM3(0x00 || EncodeRecord(record))
// (record.h), and the RFC 9162 §2.1.3.2 inclusion proof from that leaf to root_hash.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/sm2.h"
#include "services/evidence/merkle.h"
#include "services/evidence/record.h"

namespace gmpki::evidence {

struct SignedTreeHead {
  std::uint64_t tree_size = 0;
  std::int64_t timestamp_ms = 0;  // Unix milliseconds, when the head was signed
  NodeHash root_hash{};
  Bytes signature;  // DER SM2Signature over TreeHeadTbs()
  bool operator==(const SignedTreeHead&) const = default;
};

// The 51 to-be-signed bytes above.
Bytes TreeHeadTbs(const SignedTreeHead& sth);

// kBadSignature when the signature does not verify under `log_key`.
Status VerifyTreeHead(const SignedTreeHead& sth, const crypto::Sm2PublicKey& log_key);

// JSON object text of a tree head (the "tree_head" member of a bundle) and back.
// Parse: kMalformedInput on a missing or ill-typed member.
std::string TreeHeadToJson(const SignedTreeHead& sth);
Result<SignedTreeHead> TreeHeadFromJson(std::string_view json);

struct EvidenceBundle {
  std::uint64_t leaf_index = 0;
  EvidenceRecord record;
  SignedTreeHead tree_head;
  std::vector<NodeHash> inclusion_proof;
  crypto::Sm2PublicKey log_public_key;
  Bytes log_certificate;  // DER, empty when none
};

// The bundle JSON above (pretty-printed, ends with a newline).
std::string BundleToJson(const EvidenceBundle& bundle);
// kMalformedInput when the text is not a bundle of this format.
Result<EvidenceBundle> ParseBundle(std::string_view json);

// Checks a bundle offline against the relying party's trusted log key (`gmpki evidence verify`).
// Returns the parsed, verified bundle. Errors: kMalformedInput (not a bundle), kBadSignature
// (tree head not signed by `trusted_log_key`, or the bundle names another log key),
// kIntegrityFailure (the record is not the leaf the tree head commits to at leaf_index:
// record or proof changed), kInvalidArgument (leaf_index >= tree_size).
Result<EvidenceBundle> VerifyBundle(std::string_view json,
                                    const crypto::Sm2PublicKey& trusted_log_key);

}  // namespace gmpki::evidence
