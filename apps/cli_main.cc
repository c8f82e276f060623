// gmpki: the operator and script CLI. Wiring only: every command parses its options, calls a
// service through node::Node, and prints text or --json. Errors print "error: <slug>: ..." and
// exit with the catalogue's code (base/error.h).
#include <CLI/CLI.hpp>

#include "apps/cli_context.h"
#include "services/ca/profiles.h"
#include "x509/certificate.h"
#include "x509/crl.h"
#include "x509/pem.h"

namespace gmpki::cli {
namespace {

using nlohmann::json;
using services::Role;

json CaToJson(const ca::CaRecord& c) {
  return {{"name", c.name},     {"parent", c.parent}, {"depth", c.depth},       {"kind", c.kind},
          {"status", c.status}, {"subject", c.subject}, {"serial", c.serial_hex},
          {"not_after", c.not_after}, {"external", c.external}};
}

json CertToJson(const ca::CertRecord& c) {
  json j{{"ca", c.ca},         {"serial", c.serial_hex}, {"subject", c.subject},
         {"profile", c.profile}, {"status", c.status},   {"not_before", c.not_before},
         {"not_after", c.not_after}};
  if (c.revocation_reason) {
    j["revocation_reason"] = x509::RevocationReasonName(static_cast<x509::RevocationReason>(*c.revocation_reason));
  }
  return j;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"gmpki: SM2 public key infrastructure (LD/T 02.1-2022) — operator CLI"};
  app.require_subcommand(1);
  app.fallthrough();
  Globals g;
  app.add_option("--home", g.home, "Deployment home directory");
  app.add_flag("--json", g.json, "Machine-readable JSON output");
  app.add_option("--operator", g.operator_name, "Acting operator (default on demo homes: the demo operator of the needed role)");
  app.add_option("--credentials", g.credentials_dir, "Directory holding <operator>/cert.pem, key.pem, passphrase");
  app.add_option("--share-file", g.share_files, "Custodian share file (repeat k times; default: the home's configured shares)");
  int exit_code = 0;
  // Every command's body runs after parsing, in its callback, with one Context.
  std::unique_ptr<Context> ctx;
  auto context = [&]() -> Context& {
    if (!ctx) ctx = std::make_unique<Context>(g);
    return *ctx;
  };

  // ---- init ----
  auto* init = app.add_subcommand("init", "Create a new deployment home");
  static node::InitOptions io;
  init->add_flag("--demo", io.demo, "All-in-one demo: shares and operator credentials kept under the home, demo CA hierarchy");
  init->add_option("--secrets-out", io.secrets_out, "Production: where custodian shares and initial operator credentials are written");
  init->add_option("--listen", io.listen, "HTTPS address HOST:PORT")->capture_default_str();
  init->add_option("--http-listen", io.http_listen, "Plain HTTP address HOST:PORT")->capture_default_str();
  init->add_option("--threshold", io.threshold, "Custodian shares needed (k)")->check(CLI::Range(2, 255))->capture_default_str();
  init->add_option("--shares", io.shares, "Custodian shares made (n)")->check(CLI::Range(2, 255))->capture_default_str();
  init->add_option("--database-url", io.database_url, "sqlite:PATH or postgresql://... (default: SQLite in the home)");
  init->add_option("--roles", io.roles, "Services of this node, comma-separated (default: ca; demo: ca,ra). A key "
                                        "management centre is a home of its own: --roles km")
      ->delimiter(',');
  init->add_option("--from-shares", io.from_shares, "Rebuild the device master key from these custodian share files "
                                                    "(restore of a KM or node), comma-separated")
      ->delimiter(',');
  init->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      if (g.home.empty()) return Error(ErrorCode::kInvalidArgument, "--home DIR is required");
      if (io.threshold > io.shares) return Error(ErrorCode::kInvalidArgument, "--threshold exceeds --shares");
      io.home = g.home;
      SystemClock clock;
      GMPKI_ASSIGN_OR_RETURN(auto r, node::InitHome(io, clock));
      json j{{"home", std::filesystem::absolute(g.home).string()}, {"demo", io.demo}, {"cas", r.cas}};
      json shares = json::array(), creds = json::array();
      for (auto& s : r.share_files) shares.push_back(s.string());
      for (auto& d : r.credential_dirs) creds.push_back(d.string());
      j["share_files"] = shares;
      j["credentials"] = creds;
      std::string text = "initialised " + j["home"].get<std::string>() + "\n";
      if (io.demo && !r.cas.empty()) {
        text += "demo CA hierarchy: root-ca -> industry-ca -> ministry-ca\n";
        text += "start the server with: gmpki-server --home " + g.home + "\n";
      } else if (io.demo) {
        text += "start the server with: gmpki-server --home " + g.home + "\n";
      } else {
        text += "hand the custodian shares and operator credentials under " + io.secrets_out.string() +
                " to their holders, then delete them there\n";
      }
      return Emit(c, j, text);
    });
  });

  // ---- profile ----
  auto* profile = app.add_subcommand("profile", "Certificate profiles (GM/T 0015)");
  profile->require_subcommand(1);
  profile->add_subcommand("list", "List certificate profiles")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      json arr = json::array();
      std::string text;
      for (const auto& p : ca::AllProfiles()) {
        arr.push_back({{"name", p.name}, {"description", p.description},
                       {"default_validity_days", p.default_validity_days}});
        text += p.name + "\t" + p.description + "\n";
      }
      return Emit(c, arr, text);
    });
  });

  // ---- ca ----
  auto* ca = app.add_subcommand("ca", "Certificate authorities of the hierarchy");
  ca->require_subcommand(1);
  ca->add_subcommand("list", "List CAs (root at depth 0)")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto list, n->ca().ListCas(actor));
      json arr = json::array();
      std::string text;
      for (const auto& r : list) {
        arr.push_back(CaToJson(r));
        text += std::string(r.depth * 2, ' ') + r.name + "  [" + r.kind + ", " + r.status + "]  " + r.subject + "\n";
      }
      return Emit(c, arr, text);
    });
  });
  static std::string ca_name, ca_parent, ca_subject, ca_kind = "business", ca_out, root_name, root_file, cert_file;
  static int ca_days = 3650;
  auto* create_root = ca->add_subcommand("create-root", "Create a self-signed root CA (test and demo deployments)");
  create_root->add_option("--name", ca_name, "CA name")->required();
  create_root->add_option("--subject", ca_subject, "Subject DN, e.g. \"C=CN,O=...,CN=...\"")->required();
  create_root->add_option("--days", ca_days, "Validity in days")->capture_default_str();
  create_root->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto rec, n->ca().CreateRoot(actor, ca_name, ca_subject, ca_days));
      c.Checkpoint();
      return Emit(c, CaToJson(rec), "created root CA " + rec.name + " (" + rec.subject + ")");
    });
  });
  auto* create_sub = ca->add_subcommand("create", "Create a subordinate CA issued by --parent");
  create_sub->add_option("--parent", ca_parent, "Issuing CA")->required();
  create_sub->add_option("--name", ca_name, "CA name")->required();
  create_sub->add_option("--subject", ca_subject, "Subject DN")->required();
  create_sub->add_option("--kind", ca_kind, "industry | business")->check(CLI::IsMember({"industry", "business"}))->capture_default_str();
  create_sub->add_option("--days", ca_days, "Validity in days")->capture_default_str();
  create_sub->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto rec, n->ca().CreateSubordinate(actor, ca_parent, ca_name, ca_subject, ca_kind, ca_days));
      c.Checkpoint();
      return Emit(c, CaToJson(rec), "created " + rec.kind + " CA " + rec.name + " under " + rec.parent);
    });
  });
  auto* request = ca->add_subcommand("request", "Generate the industry CA key and a PKCS#10 request for the national root");
  request->add_option("--name", ca_name, "CA name")->required();
  request->add_option("--subject", ca_subject, "Subject DN")->required();
  request->add_option("--out", ca_out, "CSR output file (PEM)")->required();
  request->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto pem, n->ca().RequestExternalCertificate(actor, ca_name, ca_subject));
      GMPKI_RETURN_IF_ERROR(WriteOutput(ca_out, AsBytes(pem)));
      c.Checkpoint();
      return Emit(c, json{{"name", ca_name}, {"csr", ca_out}}, "wrote " + ca_out + "; CA " + ca_name + " is pending");
    });
  });
  auto* import = ca->add_subcommand("import", "Import the national root and the CA certificate it issued to a pending CA");
  import->add_option("--name", ca_name, "The pending CA")->required();
  import->add_option("--root-name", root_name, "Name to give the imported root")->required();
  import->add_option("--root", root_file, "National root certificate (PEM or DER)")->required();
  import->add_option("--cert", cert_file, "CA certificate issued by the root (PEM or DER)")->required();
  import->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto root, ReadTextFile(root_file));
      GMPKI_ASSIGN_OR_RETURN(auto cert, ReadTextFile(cert_file));
      GMPKI_ASSIGN_OR_RETURN(auto rec, n->ca().ImportExternalCertificate(actor, ca_name, root_name, AsBytes(root), AsBytes(cert)));
      c.Checkpoint();
      return Emit(c, CaToJson(rec), "imported; CA " + rec.name + " is active under " + rec.parent);
    });
  });

  // ---- cert ----
  auto* cert = app.add_subcommand("cert", "Certificates: issue, revoke, hold, release, renew, re-key, search, export");
  cert->require_subcommand(1);
  static std::string c_ca, c_profile, c_csr, c_out, c_serial, c_reason = "unspecified", c_format = "pem";
  static std::string c_subject, c_status, c_resident, c_passport, c_insurance, c_orgcode, c_uscc;
  static std::vector<std::string> c_emails, c_dns;
  static int c_days = 0, c_limit = 100;
  static bool c_chain = false;
  auto* issue = cert->add_subcommand("issue", "Issue a certificate from a PKCS#10 request");
  issue->add_option("--ca", c_ca, "Issuing CA")->required();
  issue->add_option("--profile", c_profile, "Profile (see `gmpki profile list`)")->required();
  issue->add_option("--csr", c_csr, "PKCS#10 request file (PEM or DER), signed with the SM2 ID 1234567812345678")->required();
  issue->add_option("--out", c_out, "Certificate output file (PEM); '-' for stdout")->required();
  issue->add_option("--days", c_days, "Validity in days (default: the profile's)");
  issue->add_option("--resident-id", c_resident, "Resident ID number (IdentifyCode, personal profiles)");
  issue->add_option("--passport", c_passport, "Passport number (IdentifyCode, personal profiles)");
  issue->add_option("--insurance-number", c_insurance, "Social insurance number (personal profiles)");
  issue->add_option("--org-code", c_orgcode, "Organisation code (organisation profiles)");
  issue->add_option("--uscc", c_uscc, "Unified social credit code (organisation profiles)");
  issue->add_option("--email", c_emails, "subjectAltName e-mail (repeatable)");
  issue->add_option("--dns", c_dns, "subjectAltName DNS name (repeatable)");
  issue->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto csr, ReadTextFile(c_csr));
      ca::IssueRequest req;
      req.ca = c_ca;
      req.profile = c_profile;
      req.csr = ToBytes(csr);
      if (c_days) req.validity_days = c_days;
      auto opt = [](const std::string& s) { return s.empty() ? std::optional<std::string>() : s; };
      req.identity.resident_id = opt(c_resident);
      req.identity.passport = opt(c_passport);
      req.identity.insurance_number = opt(c_insurance);
      req.identity.organization_code = opt(c_orgcode);
      req.identity.uscc = opt(c_uscc);
      req.emails = c_emails;
      req.dns_names = c_dns;
      GMPKI_ASSIGN_OR_RETURN(auto issued, n->ca().Issue(actor, req));
      GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, AsBytes(issued.pem)));
      c.Checkpoint();
      return Emit(c, CertToJson(issued.record), c_out == "-" ? "" : "issued serial " + issued.record.serial_hex + " -> " + c_out);
    });
  });
  auto status_cmd = [&](const char* name, const char* help, bool with_reason) {
    auto* s = cert->add_subcommand(name, help);
    s->add_option("--ca", c_ca, "Issuing CA")->required();
    s->add_option("--serial", c_serial, "Serial number (hex)")->required();
    if (with_reason) {
      s->add_option("--reason", c_reason,
                    "unspecified | keyCompromise | cACompromise | affiliationChanged | superseded | "
                    "cessationOfOperation | privilegeWithdrawn | aACompromise")->capture_default_str();
    }
    std::string verb = name;
    s->callback([&, verb] {
      auto& c = context();
      exit_code = Run(c, [&]() -> Result<int> {
        GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
        GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
        if (verb == "revoke") {
          GMPKI_ASSIGN_OR_RETURN(auto reason, x509::ParseRevocationReason(c_reason));
          GMPKI_RETURN_IF_ERROR(n->ca().Revoke(actor, c_ca, c_serial, reason));
        } else if (verb == "hold") {
          GMPKI_RETURN_IF_ERROR(n->ca().Hold(actor, c_ca, c_serial));
        } else {
          GMPKI_RETURN_IF_ERROR(n->ca().Release(actor, c_ca, c_serial));
        }
        c.Checkpoint();
        GMPKI_ASSIGN_OR_RETURN(auto rec, n->ca().GetCertificate(actor, c_ca, c_serial));
        return Emit(c, CertToJson(rec), "certificate " + rec.serial_hex + " is now " + rec.status);
      });
    });
  };
  status_cmd("revoke", "Revoke a certificate with a reason", true);
  status_cmd("hold", "Put a certificate on hold (certificateHold)", false);
  status_cmd("release", "Release a certificate from hold", false);
  auto* renew = cert->add_subcommand("renew", "Renew: same key and subject, new serial and validity");
  renew->add_option("--ca", c_ca, "Issuing CA")->required();
  renew->add_option("--serial", c_serial, "Serial of the certificate to renew")->required();
  renew->add_option("--out", c_out, "Output file (PEM)")->required();
  renew->add_option("--days", c_days, "Validity in days");
  renew->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto issued, n->ca().Renew(actor, c_ca, c_serial, c_days ? std::optional<int>(c_days) : std::nullopt));
      GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, AsBytes(issued.pem)));
      c.Checkpoint();
      return Emit(c, CertToJson(issued.record), "renewed as serial " + issued.record.serial_hex);
    });
  });
  auto* rekey = cert->add_subcommand("rekey", "Re-key: new key (CSR) for the same subject; the old certificate is revoked (superseded)");
  rekey->add_option("--ca", c_ca, "Issuing CA")->required();
  rekey->add_option("--serial", c_serial, "Serial of the certificate to re-key")->required();
  rekey->add_option("--csr", c_csr, "PKCS#10 request with the new key")->required();
  rekey->add_option("--out", c_out, "Output file (PEM)")->required();
  rekey->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto csr, ReadTextFile(c_csr));
      GMPKI_ASSIGN_OR_RETURN(auto issued, n->ca().Rekey(actor, c_ca, c_serial, AsBytes(csr)));
      GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, AsBytes(issued.pem)));
      c.Checkpoint();
      return Emit(c, CertToJson(issued.record), "re-keyed as serial " + issued.record.serial_hex);
    });
  });
  auto* show = cert->add_subcommand("show", "Show one certificate's record");
  show->add_option("--ca", c_ca, "Issuing CA")->required();
  show->add_option("--serial", c_serial, "Serial number (hex)")->required();
  show->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto rec, n->ca().GetCertificate(actor, c_ca, c_serial));
      return Emit(c, CertToJson(rec), rec.serial_hex + "  " + rec.status + "  " + rec.profile + "  " + rec.subject);
    });
  });
  auto* search = cert->add_subcommand("search", "Search certificates");
  search->add_option("--ca", c_ca, "Issuing CA");
  search->add_option("--subject", c_subject, "Subject contains");
  search->add_option("--status", c_status, "good | revoked | hold");
  search->add_option("--profile", c_profile, "Profile");
  search->add_option("--limit", c_limit, "At most this many (1..1000)")->capture_default_str();
  search->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      ca::CertQuery q;
      if (!c_ca.empty()) q.ca = c_ca;
      if (!c_subject.empty()) q.subject_contains = c_subject;
      if (!c_status.empty()) q.status = c_status;
      if (!c_profile.empty()) q.profile = c_profile;
      q.limit = c_limit;
      GMPKI_ASSIGN_OR_RETURN(auto list, n->ca().Search(actor, q));
      json arr = json::array();
      std::string text;
      for (const auto& r : list) {
        arr.push_back(CertToJson(r));
        text += r.ca + "  " + r.serial_hex + "  " + r.status + "  " + r.subject + "\n";
      }
      return Emit(c, arr, text.empty() ? "no certificates match" : text);
    });
  });
  auto* exp = cert->add_subcommand("export", "Export a certificate, optionally with its chain (leaf first)");
  exp->add_option("--ca", c_ca, "Issuing CA")->required();
  exp->add_option("--serial", c_serial, "Serial number (hex)")->required();
  exp->add_flag("--chain", c_chain, "Include the CA chain up to the root");
  exp->add_option("--format", c_format, "pem | der | p7b | p7b-pem")->check(CLI::IsMember({"pem", "der", "p7b", "p7b-pem"}))->capture_default_str();
  exp->add_option("--out", c_out, "Output file; '-' for stdout")->required();
  exp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      ca::ExportFormat f = c_format == "pem"   ? ca::ExportFormat::kPem
                           : c_format == "der" ? ca::ExportFormat::kDer
                           : c_format == "p7b" ? ca::ExportFormat::kPkcs7Der
                                               : ca::ExportFormat::kPkcs7Pem;
      GMPKI_ASSIGN_OR_RETURN(auto bytes, n->ca().Export(actor, c_ca, c_serial, c_chain, f));
      GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, bytes));
      return Emit(c, json{{"out", c_out}, {"bytes", bytes.size()}}, c_out == "-" ? "" : "wrote " + c_out);
    });
  });

  // ---- crl ----
  auto* crl = app.add_subcommand("crl", "Certificate revocation lists");
  crl->require_subcommand(1);
  static bool crl_delta = false;
  auto* crl_issue = crl->add_subcommand("issue", "Issue a full or delta CRL");
  crl_issue->add_option("--ca", c_ca, "Issuing CA")->required();
  crl_issue->add_flag("--delta", crl_delta, "Delta CRL against the latest full CRL");
  crl_issue->add_option("--out", c_out, "Output file (PEM); '-' for stdout")->required();
  crl_issue->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto r, n->ca().IssueCrl(actor, c_ca, crl_delta));
      GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, AsBytes(r.Pem())));
      c.Checkpoint();
      json j{{"number", r.number}, {"entries", r.entries}, {"out", c_out}};
      if (r.delta_base) j["delta_base"] = *r.delta_base;
      return Emit(c, j, "CRL number " + std::to_string(r.number) + " with " + std::to_string(r.entries) + " entries -> " + c_out);
    });
  });

  // ---- ctl ----
  auto* ctl = app.add_subcommand("ctl", "Certificate trust list (LD/T 02.1 §7.3.2)");
  ctl->require_subcommand(1);
  auto* ctl_issue = ctl->add_subcommand("issue", "Sign a CTL of every active CA certificate");
  ctl_issue->add_option("--ca", c_ca, "Signing CA (the industry CA)")->required();
  static int ctl_days = 365;
  ctl_issue->add_option("--days", ctl_days, "Validity in days (1..3650)")->capture_default_str();
  static std::string ctl_format = "pem";
  ctl_issue->add_option("--format", ctl_format, "pem | der")->check(CLI::IsMember({"pem", "der"}))->capture_default_str();
  ctl_issue->add_option("--out", c_out, "Output file")->required();
  ctl_issue->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto der, n->ca().IssueCtl(actor, c_ca, ctl_days));
      if (ctl_format == "der") {
        GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, der));
      } else {
        GMPKI_RETURN_IF_ERROR(WriteOutput(c_out, AsBytes(x509::PemEncode(x509::kPemCtl, der))));
      }
      c.Checkpoint();
      return Emit(c, json{{"out", c_out}, {"bytes", der.size()}}, "wrote CTL to " + c_out);
    });
  });

  // ---- audit ----
  auto* audit = app.add_subcommand("audit", "Security audit log (audit administrator)");
  audit->require_subcommand(1);
  audit->add_subcommand("verify", "Verify the hash chain and the signed checkpoints")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kAuditAdmin));
      GMPKI_RETURN_IF_ERROR(services::Authorize(actor, services::Permission::kAuditRead));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto rep, n->VerifyAudit());
      json j{{"ok", rep.ok}, {"records", rep.records_checked}, {"checkpoints", rep.checkpoints_checked},
             {"unsigned_tail", rep.unsigned_tail}};
      if (!rep.ok) {
        j["first_failing_seq"] = rep.first_failing_seq;
        j["message"] = rep.message;
        Emit(c, j, "");
        return rep.ToStatus().error();
      }
      return Emit(c, j, "audit log intact: " + std::to_string(rep.records_checked) + " records, " +
                            std::to_string(rep.checkpoints_checked) + " signed checkpoints, " +
                            std::to_string(rep.unsigned_tail) + " after the last checkpoint");
    });
  });
  static std::string a_actor, a_action;
  static int a_limit = 50;
  auto* asearch = audit->add_subcommand("search", "Search audit records (newest first)");
  asearch->add_option("--actor", a_actor, "Exact actor");
  asearch->add_option("--action", a_action, "Exact action, e.g. cert.issue");
  asearch->add_option("--limit", a_limit, "At most this many")->capture_default_str();
  asearch->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kAuditAdmin));
      GMPKI_RETURN_IF_ERROR(services::Authorize(actor, services::Permission::kAuditRead));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      audit::AuditQuery q;
      if (!a_actor.empty()) q.actor = a_actor;
      if (!a_action.empty()) q.action = a_action;
      q.limit = a_limit;
      q.newest_first = true;
      GMPKI_ASSIGN_OR_RETURN(auto tx, n->db().BeginReadOnly());
      GMPKI_ASSIGN_OR_RETURN(auto recs, audit::SearchAudit(*tx, q));
      json arr = json::array();
      std::string text;
      for (const auto& r : recs) {
        const auto& e = r.event;
        std::string outcome = e.outcome == audit::Outcome::kSuccess ? "success" : "failure";
        arr.push_back({{"seq", r.seq}, {"time", ToUnixSeconds(e.time)}, {"actor", e.actor}, {"role", e.role},
                       {"action", e.action}, {"object", e.object}, {"outcome", outcome}, {"detail", e.detail}});
        text += std::to_string(r.seq) + "  " + e.actor + "  " + e.action + "  " + e.object + "  " + outcome + "\n";
      }
      return Emit(c, arr, text);
    });
  });

  // ---- operator ----
  auto* op = app.add_subcommand("operator", "Operators and roles (system administrator)");
  op->require_subcommand(1);
  op->add_subcommand("list", "List operators")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSystemAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto list, n->operators().List(actor));
      json arr = json::array();
      std::string text;
      for (const auto& o : list) {
        arr.push_back({{"name", o.name}, {"role", services::RoleName(o.role)}, {"person", o.person}, {"status", o.status}});
        text += o.name + "  " + std::string(services::RoleName(o.role)) + "  " + o.status + "\n";
      }
      return Emit(c, arr, text);
    });
  });

  static std::string o_name, o_role, o_person, o_out;
  auto* enrol = op->add_subcommand("enrol", "Enrol an operator and write its TLS client credential");
  enrol->add_option("--name", o_name, "Operator name")->required();
  enrol->add_option("--role", o_role, "system-admin | security-admin | audit-admin | ca-operator")->required();
  enrol->add_option("--person", o_person, "The natural person (separation of duties: one administrative role each)")->required();
  enrol->add_option("--out", o_out, "Directory for the credential (written to OUT/<name>/)")->required();
  enrol->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSystemAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto role, services::ParseRole(o_role));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto rec, n->EnrolOperator(actor, o_name, role, o_person, o_out));
      c.Checkpoint();
      return Emit(c, json{{"name", rec.name}, {"role", services::RoleName(rec.role)}, {"credential", o_out + "/" + o_name}},
                  "enrolled " + rec.name + " as " + std::string(services::RoleName(rec.role)) + "; credential in " + o_out + "/" + o_name);
    });
  });
  auto* disable = op->add_subcommand("disable", "Disable an operator");
  disable->add_option("--name", o_name, "Operator name")->required();
  disable->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSystemAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_RETURN_IF_ERROR(n->operators().Disable(actor, o_name));
      c.Checkpoint();
      return Emit(c, json{{"name", o_name}, {"status", "disabled"}}, "disabled " + o_name);
    });
  });

  // The command groups keep a reference to it: it must live as long as parsing does.
  const ContextFn context_fn = context;
  AddRaLinkCommands(app, context_fn, exit_code);
  AddCmpCommands(app, context_fn, exit_code);
  AddBatchCommands(app, context_fn, exit_code);
  AddKmCommands(app, context_fn, exit_code);
  AddEvidenceCommands(app, context_fn, exit_code);
  AddDirectoryCommands(app, context_fn, exit_code);
  AddDualCertCommands(*cert, context_fn, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace gmpki::cli

int main(int argc, char** argv) { return gmpki::cli::Main(argc, argv); }
