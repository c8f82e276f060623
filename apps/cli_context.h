// Shared state of one `gmpki` invocation: global options, the opened node, the acting
// operator, and output helpers (text or --json).
#pragma once

#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/client.h"
#include "services/node/node.h"

namespace CLI {
class App;
}

namespace gmpki::cli {

struct Globals {
  std::string home;
  bool json = false;
  std::string operator_name;
  std::string credentials_dir;
  std::vector<std::string> share_files;
};

class Context {
 public:
  explicit Context(Globals g) : g_(std::move(g)) {}
  const Globals& globals() const { return g_; }
  // Opens the home once (self-tests, shares, device, database).
  Result<node::Node*> Node();
  // Authenticates the acting operator: --operator (with --credentials or the demo credentials),
  // or, on a demo home, the demo operator holding `needed`.
  Result<services::Actor> Actor(services::Role needed);
  // An HTTPS client for the server's operator API, presenting the acting operator's TLS
  // credential (resolved as in Actor()) and trusting the home's TLS CA.
  Result<net::HttpClient> ApiClient(services::Role needed);
  // Signs an audit checkpoint after a command that changed something.
  void Checkpoint();

 private:
  Globals g_;
  std::unique_ptr<node::Node> node_;
  // The acting operator's credential directory.
  Result<std::filesystem::path> CredentialDir(services::Role needed);
};

// Prints `j` (with --json) or `text`; returns exit code 0.
int Emit(const Context& c, const nlohmann::json& j, const std::string& text);
// Prints the error ("error: <slug>: message", or a problem-like JSON object with --json) to
// stderr and returns the catalogue's exit code.
int Fail(const Context& c, const Error& e);

// Runs a command's body, turning an Error into the CLI's error output and exit code.
int Run(Context& ctx, const std::function<Result<int>()>& body);
// Lazily creates the invocation's Context; commands call it in their callbacks.
using ContextFn = std::function<Context&()>;

// Command groups defined in their own files. `context` is captured by reference: it must
// outlive the parsing of the command line.
void AddRaLinkCommands(CLI::App& app, const ContextFn& context, int& exit_code);
void AddCmpCommands(CLI::App& app, const ContextFn& context, int& exit_code);
void AddBatchCommands(CLI::App& app, const ContextFn& context, int& exit_code);
void AddKmCommands(CLI::App& app, const ContextFn& context, int& exit_code);
void AddEvidenceCommands(CLI::App& app, const ContextFn& context, int& exit_code);
void AddDirectoryCommands(CLI::App& app, const ContextFn& context, int& exit_code);
// `cert issue-enc` and `cert recover-key`, added under the `cert` command group.
void AddDualCertCommands(CLI::App& cert, const ContextFn& context, int& exit_code);

Result<std::string> ReadTextFile(const std::string& path);
Status WriteOutput(const std::string& path, ByteView data);

}  // namespace gmpki::cli
