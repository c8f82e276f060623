#include "apps/cli_context.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gmpki::cli {
namespace fs = std::filesystem;

Result<node::Node*> Context::Node() {
  if (!node_) {
    if (g_.home.empty()) return Error(ErrorCode::kInvalidArgument, "--home DIR is required");
    std::vector<fs::path> shares(g_.share_files.begin(), g_.share_files.end());
    GMPKI_ASSIGN_OR_RETURN(node_, node::Node::Open(g_.home, shares));
  }
  return node_.get();
}

Result<fs::path> Context::CredentialDir(services::Role needed) {
  GMPKI_ASSIGN_OR_RETURN(auto* n, Node());
  std::string who = g_.operator_name;
  if (!who.empty()) {
    return !g_.credentials_dir.empty() ? fs::path(g_.credentials_dir) / who
                                       : n->config().home / "demo" / "operators" / who;
  }
  if (n->config().demo) {
    // Demo homes only: act as the demo operator of the role this command needs.
    return n->config().home / "demo" / "operators" / node::InitialOperatorName(needed);
  }
  return Error(ErrorCode::kUnauthenticated,
               "this home is not a demo home: name the acting operator with --operator NAME "
               "--credentials DIR (passphrase from DIR/NAME/passphrase or GMPKI_PASSPHRASE)");
}

Result<services::Actor> Context::Actor(services::Role needed) {
  GMPKI_ASSIGN_OR_RETURN(auto* n, Node());
  GMPKI_ASSIGN_OR_RETURN(auto dir, CredentialDir(needed));
  std::optional<std::string> pass;
  if (const char* p = std::getenv("GMPKI_PASSPHRASE")) pass = p;
  GMPKI_ASSIGN_OR_RETURN(auto cred, node::LoadCredential(dir, pass));
  GMPKI_ASSIGN_OR_RETURN(auto fp, node::VerifyCredential(cred));
  return n->operators().Authenticate(fp, "cli");
}

Result<net::HttpClient> Context::ApiClient(services::Role needed) {
  GMPKI_ASSIGN_OR_RETURN(auto* n, Node());
  GMPKI_ASSIGN_OR_RETURN(auto dir, CredentialDir(needed));
  std::optional<std::string> pass;
  if (const char* p = std::getenv("GMPKI_PASSPHRASE")) pass = p;
  GMPKI_ASSIGN_OR_RETURN(auto cred, node::LoadCredential(dir, pass));
  GMPKI_RETURN_IF_ERROR(node::VerifyCredential(cred));
  net::ClientConfig cc;
  GMPKI_ASSIGN_OR_RETURN(cc.ca_bundle_pem, ReadTextFile((n->config().home / "tls" / "ca.pem").string()));
  cc.client_cert_pem = cred.cert_pem;
  cc.client_key_pem = std::move(cred.key_pem);
  cc.client_key_passphrase = std::move(cred.passphrase);
  cc.timeout = std::chrono::milliseconds(120000);
  return net::HttpClient::Create(std::move(cc));
}

void Context::Checkpoint() {
  if (node_) {
    if (auto st = node_->CheckpointAudit(); !st.ok()) {
      std::cerr << "warning: audit checkpoint not signed: " << st.error().ToString() << "\n";
    }
  }
}

int Emit(const Context& c, const nlohmann::json& j, const std::string& text) {
  if (c.globals().json) {
    std::cout << j.dump(2) << "\n";
  } else if (!text.empty()) {
    std::cout << text << (text.back() == '\n' ? "" : "\n");
  }
  return 0;
}

int Fail(const Context& c, const Error& e) {
  if (c.globals().json) {
    nlohmann::json j{{"error", e.info().slug}, {"title", e.info().title}, {"detail", e.message()},
                     {"exit_code", e.info().exit_code}};
    std::cerr << j.dump(2) << "\n";
  } else {
    std::cerr << "error: " << e.ToString() << "\n";
  }
  return e.info().exit_code;
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kIoError, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteOutput(const std::string& path, ByteView data) {
  if (path.empty() || path == "-") {
    std::cout.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return OkStatus();
  }
  // Write to a temporary file and rename, so a failed write never leaves half a file.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error(ErrorCode::kIoError, "cannot write " + path);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) return Error(ErrorCode::kIoError, "cannot write " + path);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Error(ErrorCode::kIoError, "cannot write " + path + ": " + ec.message());
  return OkStatus();
}

int Run(Context& ctx, const std::function<Result<int>()>& body) {
  auto r = body();
  if (!r.ok()) return Fail(ctx, r.error());
  return *r;
}

}  // namespace gmpki::cli
