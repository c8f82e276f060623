// `gmpki cmp ...`: CMP clients of this CA (RFC 4210 / RFC 9483 with password-based MAC) and the
// demo home's ready-made client for trying `openssl cmp` at once.
#include <CLI/CLI.hpp>

#include "apps/cli_context.h"

namespace gmpki::cli {
namespace {
using nlohmann::json;
using services::Role;

json ClientJson(const cmp::CmpClient& c) {
  json j{{"reference", c.reference}, {"ca", c.ca},         {"profiles", c.profiles},
         {"status", c.status},       {"protection", c.protection}};
  if (c.protection == cmp::kProtectionSignature) {
    j["certificate"] = {{"ca", c.cert_issuer_ca},
                        {"serial", c.cert_serial_hex},
                        {"key_id", c.cert_key_id_hex},
                        {"sm3_fingerprint", c.cert_fingerprint}};
  }
  return j;
}
}  // namespace

void AddCmpCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  auto* cmp = app.add_subcommand("cmp", "CMP clients (RFC 4210 / RFC 9483, served at http://<http_listen>/cmp/<ca>)");
  cmp->require_subcommand(1);
  cmp->add_subcommand("demo", "Print the demo RA's CMP reference, secret and path (demo homes only)")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      if (!n->config().demo) {
        return Error(ErrorCode::kFailedPrecondition,
                     "only demo homes have a demo CMP client; create one with `gmpki cmp create`");
      }
      GMPKI_ASSIGN_OR_RETURN(auto d, n->cmp().EnsureDemoClient("ministry-ca"));
      std::string server = n->config().http_listen;
      std::string text = "reference: " + d.reference + "\nsecret:    " + d.secret + "\npath:      " + d.path +
                         "\n\ntry:\n  openssl genpkey -algorithm SM2 -out key.pem\n"
                         "  openssl cmp -cmd ir -server " + server + " -path " + d.path.substr(1) + " -ref " +
                         d.reference + " -secret pass:" + d.secret +
                         " -newkey key.pem -subject /CN=cmp-demo -digest sm3 -certout cert.pem -unprotected_errors\n";
      return Emit(c, json{{"reference", d.reference}, {"secret", d.secret}, {"path", d.path}, {"server", server}}, text);
    });
  });
  static std::string r_ref, r_ca, r_cert;
  static std::vector<std::string> r_profiles;
  auto* create = cmp->add_subcommand(
      "create", "Register a CMP client: with a shared secret (printed once), or with --cert for signature protection");
  create->add_option("--reference", r_ref, "The client's name (its senderKID when it uses a shared secret)")->required();
  create->add_option("--ca", r_ca, "The CA it may use")->required();
  create->add_option("--profiles", r_profiles, "Allowed profiles, the first is the default")->required()->delimiter(',');
  create->add_option("--cert", r_cert,
                     "Its SM2 certificate (PEM, issued by a CA of this deployment): requests must be signed with "
                     "its key under the GM/T ID, answers are signed by the CA");
  create->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      if (!r_cert.empty()) {
        GMPKI_ASSIGN_OR_RETURN(auto pem, ReadTextFile(r_cert));
        GMPKI_ASSIGN_OR_RETURN(auto client, n->cmp().CreateCertClient(actor, r_ref, r_ca, r_profiles, pem));
        c.Checkpoint();
        return Emit(c, ClientJson(client),
                    "created CMP client " + client.reference + " (signature protection, key ID " +
                        client.cert_key_id_hex + ")");
      }
      GMPKI_ASSIGN_OR_RETURN(auto s, n->cmp().CreateClient(actor, r_ref, r_ca, r_profiles));
      c.Checkpoint();
      json j = ClientJson(s.client);
      j["secret"] = s.secret;
      return Emit(c, j, "created CMP client " + s.client.reference + "; secret (shown once): " + s.secret);
    });
  });
  cmp->add_subcommand("list", "List CMP clients")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto list, n->cmp().ListClients(actor));
      json arr = json::array();
      std::string text;
      for (const auto& cl : list) {
        arr.push_back(ClientJson(cl));
        text += cl.reference + "  " + cl.ca + "  " + cl.protection + "  " + cl.status + "\n";
      }
      return Emit(c, arr, text.empty() ? "no CMP clients" : text);
    });
  });
  for (const char* action : {"suspend", "resume"}) {
    std::string act = action;
    auto* s = cmp->add_subcommand(act, act == "suspend" ? "Suspend a CMP client" : "Resume a CMP client");
    s->add_option("--reference", r_ref, "The client's reference")->required();
    s->callback([&, act] {
      auto& c = context();
      exit_code = Run(c, [&]() -> Result<int> {
        GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
        GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
        GMPKI_RETURN_IF_ERROR(act == "suspend" ? n->cmp().SuspendClient(actor, r_ref) : n->cmp().ResumeClient(actor, r_ref));
        c.Checkpoint();
        return Emit(c, json{{"reference", r_ref}, {"status", act == "suspend" ? "suspended" : "active"}},
                    r_ref + (act == "suspend" ? " suspended" : " resumed"));
      });
    });
  }
}

}  // namespace gmpki::cli
