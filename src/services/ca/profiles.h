// Certificate profiles after GM/T 0015 (SM2 certificate format) and LD/T 02.3: personal,
// organisation and device certificates in signing and encryption variants (the dual-certificate
// system: a signing certificate for the subscriber's own key, an encryption certificate for a
// key escrowed by the KM), plus the CA profiles of the hierarchy (LD/T 02.1 §7.2-§7.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gmpki::ca {

enum class SubjectKind { kPerson, kOrganization, kDevice, kCa };
enum class KeyPurposeKind { kSigning, kEncryption, kCa };

struct Profile {
  std::string name;
  std::string description;
  SubjectKind subject;
  KeyPurposeKind purpose;
  std::uint16_t key_usage;                  // x509::KeyUsageBit mask
  std::vector<std::string> ext_key_usage;   // OIDs; empty: no EKU extension
  int default_validity_days;
  int max_validity_days;
  // Subject attributes that must be present (e.g. "CN").
  std::vector<std::string> required_subject;
  // Which GM/T 0015 identity extensions the profile accepts.
  bool allows_person_identity = false;        // IdentifyCode, InsuranceNumber
  bool allows_organization_identity = false;  // OrganizationCode, USCC, IC reg., tax number
  std::optional<int> path_len;                // CA profiles
  std::vector<std::string> policy_oids;
  // RFC 6960 section 4.2.2.2.1: a delegated OCSP signing certificate carries
  // id-pkix-ocsp-nocheck so clients need not check the responder's own status.
  bool ocsp_nocheck = false;
};

// Every profile, in a stable order.
const std::vector<Profile>& AllProfiles();
// kUnknownProfile naming the known ones.
Result<const Profile*> FindProfile(std::string_view name);

// The certificate policy OID arc this deployment asserts. [deployment-specific] A real
// deployment replaces it with the policy OIDs of its CP/CPS.
inline constexpr std::string_view kGmpkiPolicyArc = "1.2.156.112999.1";

}  // namespace gmpki::ca
