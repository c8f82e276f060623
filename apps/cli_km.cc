// `gmpki km ...` (KM node: the key management centre, KM-01..KM-09), `gmpki km-link ...` (CA node:
// attaching this CA to its KM) and `gmpki cert issue-enc / recover-key` (CA node: dual
// certificates).
#include <CLI/CLI.hpp>

#include <filesystem>

#include "apps/cli_context.h"
#include "x509/certificate.h"

namespace gmpki::cli {
namespace {

using nlohmann::json;
using services::Role;

Result<json> ReadJson(const std::string& path) {
  GMPKI_ASSIGN_OR_RETURN(auto text, ReadTextFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(ErrorCode::kMalformedInput, path + " is not a JSON object");
  return j;
}

json RecoveryToJson(const km::Recovery& r) {
  return json{{"id", r.id},           {"key_id", r.key_id},       {"status", r.status},
              {"requested_by", r.requested_by}, {"approved_by", r.approved_by}, {"authority", r.authority},
              {"case_ref", r.case_ref}, {"created", r.created_unix}, {"expires", r.expires_unix}};
}

// Writes the three envelope forms and returns their paths.
Result<json> WriteDelivery(const std::string& dir, const std::string& stem, const ca::KmKeyDelivery& d) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot create " + dir + ": " + ec.message());
  json files;
  std::string skf = dir + "/" + stem + ".skf", ek = dir + "/" + stem + ".sm2-enveloped-key.der",
              ed = dir + "/" + stem + ".enveloped-data.der";
  GMPKI_RETURN_IF_ERROR(WriteOutput(skf, d.skf_blob));
  GMPKI_RETURN_IF_ERROR(WriteOutput(ek, d.sm2_enveloped_key));
  GMPKI_RETURN_IF_ERROR(WriteOutput(ed, d.enveloped_data));
  files["skf_enveloped_key_blob"] = skf;
  files["sm2_enveloped_key"] = ek;
  files["enveloped_data"] = ed;
  return files;
}

}  // namespace

void AddKmCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  auto* km = app.add_subcommand("km", "Key management centre (nodes with role km)");
  km->require_subcommand(1);

  // ---- the CAs this KM serves ----
  auto* cas = km->add_subcommand("ca", "The CA nodes this KM serves (security administrator)");
  cas->require_subcommand(1);
  static std::string e_request, e_out;
  static bool e_replace = false;
  auto* enrol = cas->add_subcommand("enrol", "Register a CA node from its `gmpki km-link request` file");
  enrol->add_option("--request", e_request, "The CA node's request file (JSON)")->required();
  enrol->add_option("--out", e_out, "Where to write the response file for the CA node")->required();
  enrol->add_flag("--replace", e_replace, "The CA node is registered already: give it this new TLS certificate");
  enrol->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto request, ReadJson(e_request));
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto response, n->EnrolKmCa(sec, request, e_replace));
      GMPKI_RETURN_IF_ERROR(WriteOutput(e_out, AsBytes(response.dump(2) + "\n")));
      c.Checkpoint();
      return Emit(c, json{{"ca_node", response["ca_node"]}, {"response", e_out}},
                  "registered CA node " + response["ca_node"].get<std::string>() + "; give " + e_out +
                      " to its operators (gmpki km-link import)");
    });
  });
  cas->add_subcommand("list", "List the registered CA nodes")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto list, k->ListCas(sec));
      json arr = json::array();
      std::string text;
      for (const auto& ca : list) {
        arr.push_back(json{{"name", ca.name}, {"status", ca.status}, {"tls_fingerprint", ca.tls_fingerprint}});
        text += ca.name + "  " + ca.status + "\n";
      }
      return Emit(c, arr, text.empty() ? "no CA nodes registered" : text);
    });
  });
  static std::string s_name;
  for (const char* verb : {"suspend", "resume"}) {
    std::string v = verb;
    auto* sub = cas->add_subcommand(v, v == "suspend" ? "Stop serving a CA node" : "Serve a suspended CA node again");
    sub->add_option("--name", s_name, "CA node")->required();
    sub->callback([&, v] {
      auto& c = context();
      exit_code = Run(c, [&]() -> Result<int> {
        GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
        GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
        GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
        GMPKI_RETURN_IF_ERROR(v == "suspend" ? k->SuspendCa(sec, s_name) : k->ResumeCa(sec, s_name));
        c.Checkpoint();
        return Emit(c, json{{"name", s_name}, {"status", v == "suspend" ? "suspended" : "active"}},
                    "CA node " + s_name + (v == "suspend" ? " suspended" : " resumed"));
      });
    });
  }

  // ---- pool and state ----
  km->add_subcommand("state", "Pool, escrow and archive counts")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto who, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto s, k->State(who));
      return Emit(c, json{{"pool_available", s.available}, {"escrowed", s.escrowed}, {"archived", s.archived}},
                  "pool " + std::to_string(s.available) + ", escrowed " + std::to_string(s.escrowed) + ", archived " +
                      std::to_string(s.archived));
    });
  });
  static std::size_t p_target = 0;
  auto* refill = km->add_subcommand("refill", "Top the key pool up now (the server does this in the background)");
  refill->add_option("--target", p_target, "Pairs to have available (default: km.pool_target)");
  refill->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_RETURN_IF_ERROR(services::Authorize(sec, services::Permission::kKmManage));
      std::size_t target = p_target ? p_target : k->settings().pool_target;
      GMPKI_ASSIGN_OR_RETURN(auto added, k->RefillPool(target));
      c.Checkpoint();
      return Emit(c, json{{"added", added}, {"target", target}}, "added " + std::to_string(added) + " key pairs");
    });
  });
  km->add_subcommand("archive-sweep", "Move expired and revoked keys to the archive; purge past retention")
      ->callback([&] {
        auto& c = context();
        exit_code = Run(c, [&]() -> Result<int> {
          GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
          GMPKI_RETURN_IF_ERROR(services::Authorize(sec, services::Permission::kKmManage));
          GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
          GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
          GMPKI_ASSIGN_OR_RETURN(auto r, k->ArchiveSweep());
          c.Checkpoint();
          return Emit(c, json{{"moved", r.moved}, {"purged", r.purged}},
                      "archived " + std::to_string(r.moved) + ", purged " + std::to_string(r.purged));
        });
      });

  // ---- judicial recovery (two distinct officers) ----
  auto* rec = km->add_subcommand("recovery", "Judicial key recovery under dual control (KM officers)");
  rec->require_subcommand(1);
  static std::string r_key, r_cert, r_auth, r_case, r_reason;
  auto* request = rec->add_subcommand("request", "First officer: request the recovery of one key for an authority");
  request->add_option("--key-id", r_key, "The escrowed key's ID");
  request->add_option("--cert", r_cert, "Or the encryption certificate as CA-NODE:CA:SERIAL (e.g. ca-node:ministry-ca:5F3A...)");
  request->add_option("--authority-cert", r_auth, "The authority's SM2 certificate (PEM): the package is encrypted to it")->required();
  request->add_option("--case-ref", r_case, "Warrant or case reference")->required();
  request->add_option("--reason", r_reason, "Reason")->required();
  request->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto officer, c.Actor(Role::kKmOfficer));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      km::JudicialRecoveryRequest req;
      req.key_id = r_key;
      if (!r_cert.empty()) {
        auto colon = r_cert.find(':');
        if (colon == std::string::npos) return Error(ErrorCode::kInvalidArgument, "--cert must be CA-NODE:CA:SERIAL");
        req.ca = r_cert.substr(0, colon);
        req.cert_serial = r_cert.substr(colon + 1);
      }
      GMPKI_ASSIGN_OR_RETURN(auto pem, ReadTextFile(r_auth));
      req.authority_certificate = ToBytes(pem);
      req.case_ref = r_case;
      req.reason = r_reason;
      GMPKI_ASSIGN_OR_RETURN(auto r, k->RequestJudicialRecovery(officer, req));
      c.Checkpoint();
      return Emit(c, RecoveryToJson(r), "recovery " + r.id + " pending: a second officer must approve it (gmpki km recovery approve --id " + r.id + ")");
    });
  });
  static std::string a_id, a_out;
  auto* approve = rec->add_subcommand("approve", "Second, distinct officer: approve; the package is released");
  approve->add_option("--id", a_id, "Recovery ID")->required();
  approve->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto officer, c.Actor(Role::kKmOfficer));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto r, k->ApproveJudicialRecovery(officer, a_id));
      c.Checkpoint();
      return Emit(c, RecoveryToJson(r), "recovery " + r.id + " released to " + r.authority);
    });
  });
  auto* fetch = rec->add_subcommand("fetch", "Write a released package (GM/T 0010 EnvelopedData, DER)");
  fetch->add_option("--id", a_id, "Recovery ID")->required();
  fetch->add_option("--out", a_out, "Output file")->required();
  fetch->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto officer, c.Actor(Role::kKmOfficer));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto pkg, k->FetchRecoveryPackage(officer, a_id));
      GMPKI_RETURN_IF_ERROR(WriteOutput(a_out, pkg));
      c.Checkpoint();
      return Emit(c, json{{"id", a_id}, {"package", a_out}, {"bytes", pkg.size()}}, "wrote " + a_out);
    });
  });
  rec->add_subcommand("list", "List recovery requests")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto officer, c.Actor(Role::kKmOfficer));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto list, k->ListRecoveries(officer));
      json arr = json::array();
      std::string text;
      for (const auto& r : list) {
        arr.push_back(RecoveryToJson(r));
        text += r.id + "  " + r.status + "  key " + r.key_id + "  case " + r.case_ref + "\n";
      }
      return Emit(c, arr, text.empty() ? "no recovery requests" : text);
    });
  });

  // ---- backup ----
  auto* backup = km->add_subcommand("backup", "Encrypted, integrity-protected backup of the KM store (system administrator)");
  backup->require_subcommand(1);
  static std::string b_file;
  auto* exp = backup->add_subcommand("export", "Write a backup");
  exp->add_option("--out", b_file, "Backup file")->required();
  exp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sys, c.Actor(Role::kSystemAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      km::BackupReport rep;
      GMPKI_ASSIGN_OR_RETURN(auto bytes, k->ExportBackup(sys, &rep));
      GMPKI_RETURN_IF_ERROR(WriteOutput(b_file, bytes));
      c.Checkpoint();
      return Emit(c, json{{"file", b_file}, {"keys", rep.keys}, {"archived", rep.archived}, {"cas", rep.cas},
                          {"recoveries", rep.recoveries}, {"sm3", rep.sm3}},
                  "backed up " + std::to_string(rep.keys) + " keys, " + std::to_string(rep.archived) +
                      " archived keys to " + b_file + " (content SM3 " + rep.sm3 + ")");
    });
  });
  auto* imp = backup->add_subcommand("import", "Restore a backup into this (empty) KM; its device must hold the same master key");
  imp->add_option("--file", b_file, "Backup file")->required();
  imp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sys, c.Actor(Role::kSystemAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* k, n->Km());
      GMPKI_ASSIGN_OR_RETURN(auto text, ReadTextFile(b_file));
      GMPKI_ASSIGN_OR_RETURN(auto rep, k->ImportBackup(sys, AsBytes(text)));
      c.Checkpoint();
      return Emit(c, json{{"keys", rep.keys}, {"archived", rep.archived}, {"cas", rep.cas},
                          {"recoveries", rep.recoveries}, {"sm3", rep.sm3}},
                  "restored " + std::to_string(rep.keys) + " keys, " + std::to_string(rep.archived) +
                      " archived keys (content SM3 " + rep.sm3 + ")");
    });
  });

  // ---- CA node: the link to the KM ----
  auto* link = app.add_subcommand("km-link", "Attach this CA node to its key management centre");
  link->require_subcommand(1);
  static std::string l_name, l_out, l_response, l_url;
  auto* lreq = link->add_subcommand("request", "Make this node's TLS client key and the request for the KM");
  lreq->add_option("--name", l_name, "The name the KM will know this CA node by (a-z, 0-9, '-')")->required();
  lreq->add_option("--out", l_out, "Request file to give to the KM's security administrator")->required();
  lreq->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      (void)sec;
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto req, n->CreateKmLinkRequest(l_name));
      GMPKI_RETURN_IF_ERROR(WriteOutput(l_out, AsBytes(req.dump(2) + "\n")));
      return Emit(c, json{{"request", l_out}}, "wrote " + l_out + " for the KM (gmpki km ca enrol)");
    });
  });
  auto* limp = link->add_subcommand("import", "Store the KM's response and point [km] url at the KM");
  limp->add_option("--response", l_response, "The KM's response file")->required();
  limp->add_option("--url", l_url, "The KM's HTTPS address, e.g. https://km.example:8444")->required();
  limp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      (void)sec;
      GMPKI_ASSIGN_OR_RETURN(auto resp, ReadJson(l_response));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_RETURN_IF_ERROR(n->ImportKmLink(resp, l_url));
      return Emit(c, json{{"km_url", l_url}}, "this CA node now asks " + l_url + " for encryption key pairs; restart the server");
    });
  });
}

void AddDualCertCommands(CLI::App& cert, const ContextFn& context, int& exit_code) {
  static std::string i_ca, i_sign, i_profile, i_out, i_replaces;
  static int i_days = 0;
  auto* issue = cert.add_subcommand("issue-enc", "Issue the encryption certificate paired with a signing certificate (key from the KM)");
  issue->add_option("--ca", i_ca, "Issuing CA")->required();
  issue->add_option("--sign-serial", i_sign, "The subscriber's signing certificate")->required();
  issue->add_option("--profile", i_profile, "personal-enc, organization-enc or device-enc")->required();
  issue->add_option("--validity-days", i_days, "Validity (default: the profile's)");
  issue->add_option("--replaces", i_replaces, "Re-key: the encryption certificate this one replaces (revoked, superseded)");
  issue->add_option("--out-dir", i_out, "Where to write the certificate and the three envelope forms")->required();
  issue->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto op, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      ca::EncryptionIssueRequest req{i_ca, i_sign, i_profile, std::nullopt, "", i_replaces};
      if (i_days > 0) req.validity_days = i_days;
      GMPKI_ASSIGN_OR_RETURN(auto dual, n->ca().IssueEncryption(op, req));
      std::string stem = dual.certificate.record.serial_hex;
      GMPKI_ASSIGN_OR_RETURN(auto files, WriteDelivery(i_out, stem, dual.delivery));
      GMPKI_RETURN_IF_ERROR(WriteOutput(i_out + "/" + stem + ".pem", AsBytes(dual.certificate.pem)));
      c.Checkpoint();
      files["certificate"] = i_out + "/" + stem + ".pem";
      files["serial"] = stem;
      files["key_id"] = dual.delivery.key_id;
      return Emit(c, files, "issued encryption certificate " + stem + "; envelopes in " + i_out);
    });
  });
  static std::string k_ca, k_enc, k_sign, k_out;
  auto* recover = cert.add_subcommand("recover-key", "Re-deliver an encryption key to a new carrier (its new signing certificate)");
  recover->add_option("--ca", k_ca, "CA")->required();
  recover->add_option("--serial", k_enc, "The encryption certificate")->required();
  recover->add_option("--sign-serial", k_sign, "The new carrier's signing certificate (same subject)")->required();
  recover->add_option("--out-dir", k_out, "Where to write the envelopes")->required();
  recover->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto op, c.Actor(Role::kCaOperator));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto d, n->ca().RecoverEncryptionKey(op, k_ca, k_enc, k_sign, ""));
      GMPKI_ASSIGN_OR_RETURN(auto files, WriteDelivery(k_out, k_enc + "-recovered", d));
      c.Checkpoint();
      return Emit(c, files, "key of " + k_enc + " enveloped to the new carrier; envelopes in " + k_out);
    });
  });
}

}  // namespace gmpki::cli
