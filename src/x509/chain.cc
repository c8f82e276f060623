#include "x509/chain.h"

#include <algorithm>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "x509/signed_object.h"

namespace gmpki::x509 {
namespace {

constexpr std::size_t kMaxDepth = 10;

std::string Describe(const Certificate& c) {
  return "'" + c.subject().ToString() + "' (serial " + c.serial_hex() + ")";
}

// AKI/SKI, when both present, must match; they only narrow the issuer search.
bool KeyIdsCompatible(const Certificate& child, const Certificate& issuer) {
  return !child.authority_key_id() || !issuer.subject_key_id() ||
         *child.authority_key_id() == *issuer.subject_key_id();
}

bool IsAnchor(const Certificate& c, const std::vector<Certificate>& anchors) {
  for (const auto& a : anchors) {
    if (a.der() == c.der()) return true;
  }
  return false;
}

// Finds the issuer of `child` among `pool`: same name DER, compatible key IDs, and a
// signature that verifies. kBadSignature when a name-matching candidate exists but none
// verifies.
Result<const Certificate*> FindIssuer(const Certificate& child,
                                      const std::vector<const Certificate*>& pool) {
  bool name_matched = false;
  for (const Certificate* cand : pool) {
    if (!(cand->subject() == child.issuer()) || !KeyIdsCompatible(child, *cand)) continue;
    name_matched = true;
    if (VerifyCertificateSignature(child, cand->public_key()).ok()) return cand;
  }
  if (name_matched) {
    return Error(ErrorCode::kBadSignature,
                 "signature of " + Describe(child) + " does not verify with its issuer's key");
  }
  return Error(ErrorCode::kFailedPrecondition,
               "untrusted: no issuer '" + child.issuer().ToString() + "' for " + Describe(child));
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// Parses for OpenSSL and sets the GM/T ID: X509_verify_cert uses the empty ID otherwise
// (STANDARDS-NOTES section 8.1, "every cert whose signature is checked").
Result<X509Ptr> ToOpenSsl(const Certificate& c) {
  const unsigned char* p = c.der().data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(c.der().size())));
  if (!x) return Error(ErrorCode::kMalformedInput, "OpenSSL cannot parse " + Describe(c));
  ASN1_OCTET_STRING* id = ASN1_OCTET_STRING_new();
  if (!id || !ASN1_OCTET_STRING_set(id, reinterpret_cast<const unsigned char*>(kSm2SignerId.data()),
                                    static_cast<int>(kSm2SignerId.size()))) {
    ASN1_OCTET_STRING_free(id);
    return Error(ErrorCode::kInternal, "out of memory");
  }
  X509_set0_distinguishing_id(x.get(), id);  // x owns id from here
  return x;
}

Status OpenSslVerify(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                     const std::vector<Certificate>& anchors, TimePoint at) {
  std::vector<X509Ptr> keep;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                &X509_STORE_free);
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  if (!store || !untrusted || !ctx) return Error(ErrorCode::kInternal, "out of memory");
  for (const auto& a : anchors) {
    GMPKI_ASSIGN_OR_RETURN(X509Ptr x, ToOpenSsl(a));
    if (!X509_STORE_add_cert(store.get(), x.get())) {
      return Error(ErrorCode::kInternal, "X509_STORE_add_cert failed");
    }
    keep.push_back(std::move(x));
  }
  for (const auto& i : intermediates) {
    GMPKI_ASSIGN_OR_RETURN(X509Ptr x, ToOpenSsl(i));
    sk_X509_push(untrusted.get(), x.get());
    keep.push_back(std::move(x));
  }
  GMPKI_ASSIGN_OR_RETURN(X509Ptr leaf_x, ToOpenSsl(leaf));
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf_x.get(), untrusted.get())) {
    return Error(ErrorCode::kInternal, "X509_STORE_CTX_init failed");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(ToUnixSeconds(at)));
  // check_ss_sig: the anchor's self-signature is checked too (it carries the ID as well).
  // partial_chain: every anchor given is trusted as is, self-signed or not (an industry CA
  // may trust the ministry CA certificate without the national root).
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CHECK_SS_SIGNATURE | X509_V_FLAG_PARTIAL_CHAIN);
  if (X509_verify_cert(ctx.get()) == 1) return OkStatus();
  int err = X509_STORE_CTX_get_error(ctx.get());
  std::string msg = std::string("OpenSSL path validation: ") +
                    X509_verify_cert_error_string(err) + " at depth " +
                    std::to_string(X509_STORE_CTX_get_error_depth(ctx.get()));
  switch (err) {
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return Error(ErrorCode::kBadSignature, msg);
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
      return Error(ErrorCode::kPolicyViolation, msg);
    default:
      return Error(ErrorCode::kFailedPrecondition, msg);
  }
}

// RFC 5280 §6.3.3 (b): whether a CRL's scope covers `cert`. A CRL with an
// issuingDistributionPoint (a partition CRL, for example) covers only certificates of the kind it
// names (onlyContainsUserCerts / onlyContainsCACerts) whose cRLDistributionPoints carry one of
// its distribution-point URIs; any other CRL of the issuer covers every certificate.
bool CrlCovers(const Crl& crl, const Certificate& cert) {
  const auto& idp = crl.issuing_distribution_point();
  if (!idp) return true;
  if (idp->only_user_certs && cert.is_ca()) return false;
  if (idp->only_ca_certs && !cert.is_ca()) return false;
  if (idp->full_name_uris.empty()) return true;
  const Extension* cdp = cert.FindExtension(oid::kCrlDistributionPoints);
  if (!cdp) return false;
  auto uris = ParseCrlDistributionPoints(cdp->value);
  if (!uris.ok()) return false;
  for (const auto& u : *uris) {
    if (std::find(idp->full_name_uris.begin(), idp->full_name_uris.end(), u) != idp->full_name_uris.end()) {
      return true;
    }
  }
  return false;
}

Status CheckRevocation(const Certificate& cert, const Certificate& issuer,
                       const ChainOptions& options) {
  bool covered = false;
  bool revoked = false;
  const RevokedEntry* hit = nullptr;
  // Full CRLs first, then deltas (RFC 5280 section 5.2.4): a delta entry with reason
  // removeFromCRL releases a hold listed on the base CRL.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Crl& crl : options.crls) {
      if (crl.is_delta() != (pass == 1)) continue;
      if (!(crl.issuer() == cert.issuer())) continue;
      if (!CrlCovers(crl, cert)) continue;  // another partition's CRL says nothing about cert
      if (crl.authority_key_id() && issuer.subject_key_id() &&
          *crl.authority_key_id() != *issuer.subject_key_id()) {
        continue;  // from another key of the same CA name
      }
      GMPKI_RETURN_IF_ERROR(VerifyCrlSignature(crl, issuer.public_key()));
      if (issuer.key_usage() && !(*issuer.key_usage() & kCrlSign)) {
        return Error(ErrorCode::kPolicyViolation,
                     "CRL issuer " + Describe(issuer) + " lacks keyUsage cRLSign");
      }
      if (crl.next_update() && *crl.next_update() < options.at) {
        return Error(ErrorCode::kFailedPrecondition,
                     "CRL from '" + crl.issuer().ToString() + "' is past its nextUpdate");
      }
      if (!crl.is_delta()) covered = true;
      if (const RevokedEntry* e = crl.Find(cert.serial())) {
        if (e->reason == RevocationReason::kRemoveFromCrl) {
          revoked = false;
          hit = nullptr;
        } else {
          revoked = true;
          hit = e;
        }
      }
    }
  }
  if (revoked && hit) {
    std::string reason(hit->reason ? RevocationReasonName(*hit->reason) : "unspecified");
    return Error(ErrorCode::kConflict, "revoked: " + Describe(cert) + " reason " + reason +
                                           " since " +
                                           std::to_string(ToUnixSeconds(hit->revocation_date)));
  }
  if (options.require_crls && !covered) {
    return Error(ErrorCode::kFailedPrecondition, "no CRL for " + Describe(cert));
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<Certificate>> VerifyChain(const Certificate& leaf,
                                             const std::vector<Certificate>& intermediates,
                                             const std::vector<Certificate>& anchors,
                                             const ChainOptions& options) {
  if (anchors.empty()) return Error(ErrorCode::kInvalidArgument, "no trust anchors");
  std::vector<const Certificate*> pool;
  for (const auto& a : anchors) pool.push_back(&a);
  for (const auto& i : intermediates) pool.push_back(&i);

  // 1. Build the path by DER name chaining and signatures over the original TBS bytes.
  std::vector<Certificate> path{leaf};
  while (!IsAnchor(path.back(), anchors)) {
    if (path.size() > kMaxDepth) {
      return Error(ErrorCode::kFailedPrecondition, "untrusted: path longer than 10");
    }
    GMPKI_ASSIGN_OR_RETURN(const Certificate* issuer, FindIssuer(path.back(), pool));
    for (const auto& c : path) {
      if (c.der() == issuer->der()) {
        return Error(ErrorCode::kFailedPrecondition, "untrusted: loop in the path");
      }
    }
    path.push_back(*issuer);
  }
  const Certificate& anchor = path.back();
  if (anchor.IsSelfIssued()) {
    GMPKI_RETURN_IF_ERROR(VerifyCertificateSignature(anchor, anchor.public_key()));
  }

  // 2. Validity of every certificate, the anchor included (RFC 5280 section 6.1.3 (a)(2)).
  for (const auto& c : path) {
    if (options.at < c.not_before()) {
      return Error(ErrorCode::kFailedPrecondition, "not yet valid: " + Describe(c));
    }
    if (options.at > c.not_after()) {
      return Error(ErrorCode::kFailedPrecondition, "expired: " + Describe(c));
    }
  }

  // 3. Issuer constraints (RFC 5280 sections 4.2.1.9, 4.2.1.3, 6.1.4 (k), (l), (n)).
  for (std::size_t k = 1; k < path.size(); ++k) {
    const Certificate& ca = path[k];
    if (!ca.is_ca()) {
      return Error(ErrorCode::kPolicyViolation, "issuer " + Describe(ca) + " is not a CA");
    }
    if (ca.key_usage() && !(*ca.key_usage() & kKeyCertSign)) {
      return Error(ErrorCode::kPolicyViolation,
                   "issuer " + Describe(ca) + " lacks keyUsage keyCertSign");
    }
    if (ca.path_len()) {
      std::size_t below = 0;  // non-self-issued intermediates between ca and the leaf
      for (std::size_t j = 1; j < k; ++j) below += path[j].IsSelfIssued() ? 0 : 1;
      if (below > static_cast<std::size_t>(*ca.path_len())) {
        return Error(ErrorCode::kPolicyViolation,
                     "pathLenConstraint of " + Describe(ca) + " exceeded");
      }
    }
  }

  // 4. OpenSSL's full RFC 5280 validation as a second, independent check.
  GMPKI_RETURN_IF_ERROR(OpenSslVerify(leaf, intermediates, anchors, options.at));

  // 5. Revocation of every non-anchor certificate with CRLs verified here.
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    GMPKI_RETURN_IF_ERROR(CheckRevocation(path[i], path[i + 1], options));
  }
  return path;
}

}  // namespace gmpki::x509
