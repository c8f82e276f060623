#include "services/ca/profiles.h"

#include "x509/extensions.h"

namespace gmpki::ca {

using namespace gmpki::x509;  // NOLINT: key usage bit names

namespace {
std::string Policy(const char* leaf) { return std::string(kGmpkiPolicyArc) + "." + leaf; }

std::vector<Profile> Build() {
  const std::uint16_t kSign = kDigitalSignature | kNonRepudiation;
  // GM/T 0015 / Tongsuo TLCP rule: an encryption certificate carries keyEncipherment or
  // dataEncipherment; keyAgreement is added for SM2 key exchange.
  const std::uint16_t kEnc = kKeyEncipherment | kDataEncipherment | kKeyAgreement;
  const std::uint16_t kCaUsage = kKeyCertSign | kCrlSign | kDigitalSignature;
  std::vector<Profile> p;
  p.push_back({"personal-sign", "Personal signing certificate (subscriber's own key)",
               SubjectKind::kPerson, KeyPurposeKind::kSigning, kSign,
               {std::string(oid::kKpClientAuth), std::string(oid::kKpEmailProtection)}, 730, 1825,
               {"CN"}, true, false, std::nullopt, {Policy("1")}});
  p.push_back({"personal-enc", "Personal encryption certificate (key escrowed by the KM)",
               SubjectKind::kPerson, KeyPurposeKind::kEncryption, kEnc,
               {std::string(oid::kKpEmailProtection)}, 730, 1825, {"CN"}, true, false,
               std::nullopt, {Policy("1")}});
  p.push_back({"organization-sign", "Organisation signing certificate", SubjectKind::kOrganization,
               KeyPurposeKind::kSigning, kSign, {std::string(oid::kKpClientAuth)}, 730, 1825,
               {"CN", "O"}, false, true, std::nullopt, {Policy("2")}});
  p.push_back({"organization-enc", "Organisation encryption certificate",
               SubjectKind::kOrganization, KeyPurposeKind::kEncryption, kEnc, {}, 730, 1825,
               {"CN", "O"}, false, true, std::nullopt, {Policy("2")}});
  p.push_back({"device-sign", "Device (server, gateway) signing certificate", SubjectKind::kDevice,
               KeyPurposeKind::kSigning, kDigitalSignature,
               {std::string(oid::kKpServerAuth), std::string(oid::kKpClientAuth)}, 730, 1825,
               {"CN"}, false, false, std::nullopt, {Policy("3")}});
  p.push_back({"device-enc", "Device encryption certificate", SubjectKind::kDevice,
               KeyPurposeKind::kEncryption, kEnc, {}, 730, 1825, {"CN"}, false, false,
               std::nullopt, {Policy("3")}});
  // RFC 6960 section 4.2.2.2: the delegated OCSP responder of a CA (src/services/va). Short
  // validity because ocsp-nocheck makes it unrevocable in practice (section 4.2.2.2.1: "CAs may
  // choose to issue this type of certificate with a very short lifetime and renew it
  // frequently").
  p.push_back({"ocsp-signer", "Delegated OCSP response signing certificate", SubjectKind::kDevice,
               KeyPurposeKind::kSigning, kDigitalSignature, {std::string(oid::kKpOcspSigning)}, 30,
               90, {"CN"}, false, false, std::nullopt, {}, /*ocsp_nocheck=*/true});
  p.push_back({"industry-ca", "Industry CA (ministry) certificate", SubjectKind::kCa,
               KeyPurposeKind::kCa, kCaUsage, {}, 3650 * 2, 3650 * 3, {"CN", "O"}, false, false,
               std::nullopt, {}});
  p.push_back({"business-ca", "Business CA (ministry or province) certificate", SubjectKind::kCa,
               KeyPurposeKind::kCa, kCaUsage, {}, 3650, 3650 * 2, {"CN", "O"}, false, false, 0, {}});
  return p;
}
}  // namespace

const std::vector<Profile>& AllProfiles() {
  static const std::vector<Profile> kProfiles = Build();
  return kProfiles;
}

Result<const Profile*> FindProfile(std::string_view name) {
  std::string known;
  for (const auto& p : AllProfiles()) {
    if (p.name == name) return &p;
    if (!known.empty()) known += ", ";
    known += p.name;
  }
  return Error(ErrorCode::kUnknownProfile,
               "unknown profile '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace gmpki::ca
