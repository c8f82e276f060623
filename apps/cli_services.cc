// `gmpki evidence ...` (the accountability evidence log, AS-06) and `gmpki directory ...` (LDAP
// publication of certificates and CRLs, services/directory).
#include <CLI/CLI.hpp>

#include "apps/cli_context.h"
#include "x509/public_key.h"

namespace gmpki::cli {
namespace {

using nlohmann::json;
using services::Role;

// The relying party's trusted log key: a "PUBLIC KEY" PEM (from `gmpki evidence key`) or the
// log's certificate.
Result<crypto::Sm2PublicKey> ReadTrustedKey(const std::string& path) {
  GMPKI_ASSIGN_OR_RETURN(auto text, ReadTextFile(path));
  auto key = x509::ParseSm2PublicKeyPem(text);
  if (!key.ok()) return Error(key.error().code(), path + ": " + key.error().message());
  return key;
}

json HeadJson(const evidence::SignedTreeHead& h) { return json::parse(evidence::TreeHeadToJson(h)); }

// The evidence log, for an audit administrator (the reading and exporting commands).
Result<evidence::EvidenceLog*> AuditorsLog(Context& c) {
  GMPKI_ASSIGN_OR_RETURN(auto aud, c.Actor(Role::kAuditAdmin));
  (void)aud;
  GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
  return n->Evidence();
}

}  // namespace

void AddEvidenceCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  auto* ev = app.add_subcommand("evidence", "Accountability evidence log (AS-06): Merkle tree, signed heads, proofs");
  ev->require_subcommand(1);
  ev->add_subcommand("head", "Sign (if it grew) and print the latest tree head")->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto* log, AuditorsLog(c));
      GMPKI_ASSIGN_OR_RETURN(auto h, log->SignTreeHead());
      return Emit(c, HeadJson(h), "tree size " + std::to_string(h.tree_size) + ", root " + HexEncode(h.root_hash));
    });
  });
  ev->add_subcommand("audit", "Recompute every leaf and node against the signed heads; exit non-zero on tampering")
      ->callback([&] {
        auto& c = context();
        exit_code = Run(c, [&]() -> Result<int> {
          GMPKI_ASSIGN_OR_RETURN(auto* log, AuditorsLog(c));
          GMPKI_ASSIGN_OR_RETURN(auto rep, log->Audit());
          GMPKI_RETURN_IF_ERROR(rep.ToStatus());
          return Emit(c,
                      json{{"ok", rep.ok}, {"tree_size", rep.tree_size}, {"leaves", rep.leaves_checked},
                           {"tree_heads", rep.tree_heads_checked}, {"unsigned_tail", rep.unsigned_tail}},
                      "evidence log intact: " + std::to_string(rep.leaves_checked) + " records, " +
                          std::to_string(rep.tree_heads_checked) + " signed tree heads");
        });
      });
  static std::string k_out;
  auto* key = ev->add_subcommand("key", "Write the log's public key (PEM) for relying parties");
  key->add_option("--out", k_out, "Output file")->required();
  key->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
      GMPKI_ASSIGN_OR_RETURN(auto* log, n->Evidence());
      (void)log;
      GMPKI_ASSIGN_OR_RETURN(auto s, n->device().OpenSession());
      GMPKI_ASSIGN_OR_RETURN(auto k, s->FindKey("evidence-log"));
      GMPKI_RETURN_IF_ERROR(WriteOutput(k_out, AsBytes(x509::Sm2PublicKeyPem(k.public_key))));
      return Emit(c, json{{"out", k_out}}, "evidence log public key -> " + k_out);
    });
  });
  static std::uint64_t x_index = 0;
  static std::string x_out;
  auto* exp = ev->add_subcommand("export", "Export one record with its inclusion proof and signed tree head");
  exp->add_option("--index", x_index, "Leaf index of the record")->required();
  exp->add_option("--out", x_out, "Bundle file (JSON)")->required();
  exp->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto* log, AuditorsLog(c));
      GMPKI_ASSIGN_OR_RETURN(auto head, log->SignTreeHead());
      (void)head;
      GMPKI_ASSIGN_OR_RETURN(auto bundle, log->ExportRecordBundleJson(x_index));
      GMPKI_RETURN_IF_ERROR(WriteOutput(x_out, AsBytes(bundle)));
      return Emit(c, json{{"index", x_index}, {"out", x_out}}, "record " + std::to_string(x_index) + " -> " + x_out);
    });
  });
  static std::string v_file, v_key;
  auto* ver = ev->add_subcommand("verify", "Check an exported record offline against the trusted log key (no home needed)");
  ver->add_option("file", v_file, "Bundle file from `gmpki evidence export`")->required();
  ver->add_option("--log-key", v_key, "The log's public key (gmpki evidence key) or certificate, PEM")->required();
  ver->callback([&] {
    auto& c = context();
    exit_code = Run(c, [&]() -> Result<int> {
      GMPKI_ASSIGN_OR_RETURN(auto trusted, ReadTrustedKey(v_key));
      GMPKI_ASSIGN_OR_RETURN(auto text, ReadTextFile(v_file));
      GMPKI_ASSIGN_OR_RETURN(auto b, evidence::VerifyBundle(text, trusted));
      const auto& r = b.record;
      return Emit(c,
                  json{{"valid", true}, {"index", b.leaf_index}, {"tree_size", b.tree_head.tree_size},
                       {"kind", evidence::KindName(r.kind)}, {"actor", r.actor}, {"object", r.object},
                       {"decision", r.decision}, {"outcome", evidence::OutcomeName(r.outcome)}},
                  "valid: record " + std::to_string(b.leaf_index) + " (" + std::string(evidence::KindName(r.kind)) +
                      " by " + r.actor + ") is in the log's signed tree of " +
                      std::to_string(b.tree_head.tree_size) + " records");
    });
  });
}

void AddDirectoryCommands(CLI::App& app, const ContextFn& context, int& exit_code) {
  auto* dir = app.add_subcommand("directory", "LDAP publication of certificates and CRLs ([directory] in gmpki.toml)");
  dir->require_subcommand(1);
  for (const char* verb : {"sync", "resync"}) {
    std::string v = verb;
    dir->add_subcommand(v, v == "sync" ? "Publish what changed since the last sync (the server does this every second)"
                                       : "Publish every CA, CRL and certificate again")
        ->callback([&, v] {
          auto& c = context();
          exit_code = Run(c, [&]() -> Result<int> {
            GMPKI_ASSIGN_OR_RETURN(auto op, c.Actor(Role::kCaOperator));
            (void)op;
            GMPKI_ASSIGN_OR_RETURN(auto* n, c.Node());
            GMPKI_ASSIGN_OR_RETURN(auto* sync, n->Directory());
            GMPKI_ASSIGN_OR_RETURN(auto counts, v == "sync" ? sync->SyncOnce() : sync->FullResync());
            json j{{"events", counts.events}, {"cas", counts.cas}, {"certificates", counts.certificates},
                   {"removed", counts.removed}, {"crls", counts.crls}};
            return Emit(c, j,
                        "published " + std::to_string(counts.cas) + " CA(s), " + std::to_string(counts.certificates) +
                            " certificate(s), " + std::to_string(counts.crls) + " CRL(s) to " + n->config().directory_url);
          });
        });
  }
}

}  // namespace gmpki::cli
