// `gmpki ra ...` (CA node: the registration systems attached to this CA, CA-01) and
// `gmpki ra-link ...` (RA node: attaching this node's RA to a CA, HI-03 / HI-05).
#include <CLI/CLI.hpp>

#include <fstream>

#include "apps/cli_context.h"
#include "x509/certificate.h"

namespace gmpki::cli {
namespace {

using nlohmann::json;
using services::Role;

json RaToJson(const ca::RaSystem& r) {
  return json{{"name", r.name},       {"status", r.status},   {"sign_ca", r.sign_ca},
              {"sign_serial", r.sign_serial}, {"tls_fingerprint", r.tls_fingerprint},
              {"cas", r.cas},         {"profiles", r.profiles}, {"enrolled_by", r.enrolled_by}};
}

std::string RaLine(const ca::RaSystem& r) {
  std::string cas, profiles;
  for (const auto& c : r.cas) cas += (cas.empty() ? "" : ",") + c;
  for (const auto& p : r.profiles) profiles += (profiles.empty() ? "" : ",") + p;
  return r.name + "  " + r.status + "  cas=" + cas + "  profiles=" + profiles;
}

Result<json> ReadJsonFile(const std::string& path) {
  GMPKI_ASSIGN_OR_RETURN(auto text, ReadTextFile(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorCode::kMalformedInput, path + " is not a JSON object");
  }
  return j;
}

Status WriteJsonFile(const std::string& path, const json& j) {
  std::string text = j.dump(2) + "\n";
  return WriteOutput(path, AsBytes(text));
}

}  // namespace

void AddRaLinkCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  // ---- CA side ----
  auto* ra = app.add_subcommand("ra", "Registration systems attached to this CA (security administrator)");
  ra->require_subcommand(1);
  ra->add_subcommand("list", "List registration systems")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto list, n->ra_trust().List(actor));
      json arr = json::array();
      std::string text;
      for (const auto& r : list) {
        arr.push_back(RaToJson(r));
        text += RaLine(r) + "\n";
      }
      return Emit(c, arr, text.empty() ? "no registration systems" : text);
    });
  });

  static std::string e_request, e_issuer, e_out, e_sign_cert;
  static std::vector<std::string> e_cas, e_profiles;
  auto* enrol = ra->add_subcommand("enrol", "Enrol a registration system from its `gmpki ra-link request` file");
  enrol->add_option("--request", e_request, "The RA's request file (JSON)")->required();
  enrol->add_option("--issuer-ca", e_issuer, "CA that issues the RA's signing certificate (profile device-sign)")->required();
  enrol->add_option("--sign-cert", e_sign_cert, "The RA's signing certificate if a CA operator issued it already (PEM)");
  enrol->add_option("--cas", e_cas, "CAs the RA may request from (default: --issuer-ca)")->delimiter(',');
  enrol->add_option("--profiles", e_profiles, "Profiles it may request (default: personal-sign,organization-sign,device-sign)")->delimiter(',');
  enrol->add_option("--out", e_out, "Where to write the response file for the RA node")->required();
  enrol->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto request, ReadJsonFile(e_request));
      GMPKI_ASSIGN_OR_RETURN(auto sec, c.Actor(Role::kSecurityAdmin));
      services::Actor op = sec;
      if (!e_sign_cert.empty()) {
        GMPKI_ASSIGN_OR_RETURN(auto pem, ReadTextFile(e_sign_cert));
        request["sign_certificate"] = pem;
      } else {
        // The signing certificate is issued here by a CA operator (demo homes: the demo one).
        GMPKI_ASSIGN_OR_RETURN(op, c.Actor(Role::kCaOperator));
      }
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      node::Node::RaEnrolOptions o{e_issuer, e_cas, e_profiles};
      GMPKI_ASSIGN_OR_RETURN(auto response, n->EnrolRa(op, sec, request, o));
      GMPKI_RETURN_IF_ERROR(WriteJsonFile(e_out, response));
      c.Checkpoint();
      return Emit(c, json{{"ra", response["ra"]}, {"response", e_out}, {"cas", response["cas"]}, {"profiles", response["profiles"]}},
                  "enrolled registration system " + response["ra"].get<std::string>() + "; give " + e_out +
                      " to its operators (gmpki ra-link import)");
    });
  });

  static std::string a_name;
  static std::vector<std::string> a_cas, a_profiles;
  auto* auth = ra->add_subcommand("authorise", "Set the CAs and profiles a registration system may request");
  auth->add_option("--name", a_name, "Registration system")->required();
  auth->add_option("--cas", a_cas, "CAs (comma-separated)")->required()->delimiter(',');
  auth->add_option("--profiles", a_profiles, "Profiles (comma-separated)")->required()->delimiter(',');
  auth->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto r, n->ra_trust().Authorise(actor, a_name, a_cas, a_profiles));
      c.Checkpoint();
      return Emit(c, RaToJson(r), RaLine(r));
    });
  });
  for (const char* action : {"suspend", "resume"}) {
    std::string act = action;
    auto* s = ra->add_subcommand(act, act == "suspend" ? "Suspend a registration system (its requests are refused)"
                                                       : "Resume a suspended registration system");
    s->add_option("--name", a_name, "Registration system")->required();
    s->callback([&, act] {
      auto& c = context();
      exit_code = Run(c, [&]() -> Result<int> {
        GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSecurityAdmin));
        GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
        GMPKI_RETURN_IF_ERROR(act == "suspend" ? n->ra_trust().Suspend(actor, a_name) : n->ra_trust().Resume(actor, a_name));
        GMPKI_ASSIGN_OR_RETURN(auto r, n->ra_trust().Get(actor, a_name));
        c.Checkpoint();
        return Emit(c, RaToJson(r), RaLine(r));
      });
    });
  }

  // ---- RA side ----
  auto* link = app.add_subcommand("ra-link", "Attach this node's registration system to a CA (province mode 1, city)");
  link->require_subcommand(1);
  static std::string l_name, l_out, l_response, l_url;
  auto* req = link->add_subcommand("request", "Generate the RA's keys and the request file for the CA");
  req->add_option("--name", l_name, "The RA's name at the CA (a-z, 0-9, '-')")->required();
  req->add_option("--out", l_out, "Where to write the request file")->required();
  req->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSystemAdmin));
      (void)actor;
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto request, n->CreateRaLinkRequest(l_name));
      GMPKI_RETURN_IF_ERROR(WriteJsonFile(l_out, request));
      return Emit(c, json{{"ra", l_name}, {"request", l_out}},
                  "wrote " + l_out + "; the CA's security administrator runs `gmpki ra enrol --request " + l_out + "`");
    });
  });
  auto* imp = link->add_subcommand("import", "Store the CA's response and point this RA at the CA");
  imp->add_option("--response", l_response, "The response file from `gmpki ra enrol`")->required();
  imp->add_option("--url", l_url, "The CA's operator HTTPS address, e.g. https://ca.example:8443")->required();
  imp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto actor, c.Actor(Role::kSystemAdmin));
      (void)actor;
      GMPKI_ASSIGN_OR_RETURN(auto response, ReadJsonFile(l_response));
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_RETURN_IF_ERROR(n->ImportRaLink(response, l_url));
      return Emit(c, json{{"ra", n->config().ra_name}, {"ca_url", n->config().ra_ca_url}},
                  "registration system " + n->config().ra_name + " now requests from " + n->config().ra_ca_url);
    });
  });
  static std::string k_ca;
  auto* check = link->add_subcommand("check", "Fetch a CA's chain through the link (tests TLS, signature and authorisation)");
  check->add_option("--ca", k_ca, "A CA this RA is authorised for")->required();
  check->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* gw, n->CaGateway());
      GMPKI_ASSIGN_OR_RETURN(auto chain, gw->CaChain(k_ca));
      json arr = json::array();
      std::string text;
      for (const auto& der : chain) {
        GMPKI_ASSIGN_OR_RETURN(auto cert, x509::Certificate::FromDer(der));
        arr.push_back(cert.subject().ToRfc4514());
        text += cert.subject().ToRfc4514() + "\n";
      }
      return Emit(c, json{{"ra", gw->RaName()}, {"ca", k_ca}, {"chain", arr}}, text);
    });
  });
}

}  // namespace gmpki::cli
