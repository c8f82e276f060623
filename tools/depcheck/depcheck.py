#!/usr/bin/env python3
"""depcheck: fails on an #include that crosses a component boundary the wrong way.

CONVENTIONS: "libraries depend one way only", "every external library has exactly one home",
"OpenSSL types never appear in public headers", "the core does no I/O". This script reads every
#include line of src/ and apps/ and checks it against the tables below. The tables ARE the
declared architecture: change them in the same change that changes the architecture, and say
why in the commit message. Python 3 standard library only.

Usage: depcheck.py [--root REPO] [--print-table]
Exit status: 0 clean, 1 violations (one line each, "path:line: [rule] message"), 2 bad usage.
"""

import argparse
import os
import re
import sys
from dataclasses import dataclass

# --- Components ---------------------------------------------------------------------------
# Component name -> the components it may include directly. A component may also include what
# those may (the allowed set is the transitive closure), because a public header of a
# dependency already brings its own dependencies in. The graph must stay acyclic.
# Paths: component "x" is src/x/ (or apps/ for "apps"); includes are rooted at src/
# ("crypto/sm2.h") or at the repository root ("apps/cli_context.h").
REQUIRES = {
    "base": [],
    "crypto": ["base"],
    "device": ["crypto"],
    "x509": ["crypto"],
    "store": ["base"],
    "audit": ["store", "device", "crypto"],
    "net": ["base"],
    "services/core": ["audit", "store"],
    "services/ca": ["x509", "device", "audit", "store", "services/core"],
    "services/pii": ["device", "crypto"],
    "services/cmp": ["services/ca", "x509", "device", "audit", "store", "services/core"],
    "services/ra_link": ["services/ca", "net", "device"],
    "services/ra": ["services/ra_link", "services/pii", "services/core", "audit", "x509", "store",
                    "crypto"],
    "services/ra_batch": ["services/ra_link", "services/pii", "services/core", "audit", "x509",
                          "store", "crypto"],
    "services/km": ["services/core", "audit", "x509", "device", "store", "crypto"],
    "services/directory": ["x509", "store"],
    "services/evidence": ["device", "store", "crypto"],
    "services/va": ["services/ca", "services/core", "x509", "device", "store", "crypto"],
    "services/va_feed": ["services/va", "x509", "device", "store", "crypto"],
    "services/tsa": ["x509", "device", "crypto"],
    "services/km_link": ["services/ca", "services/km", "net", "x509", "crypto"],
    "services/node": ["services/ca", "services/cmp", "services/ra", "services/ra_batch",
                      "services/ra_link", "services/km", "services/km_link", "services/pii",
                      "services/evidence", "services/directory", "services/va", "services/va_feed",
                      "services/tsa", "services/core", "net", "x509", "audit", "device", "store", "crypto"],
    "apps": ["services/node", "services/ca", "services/cmp", "services/ra", "services/ra_batch",
             "services/ra_link", "services/km", "services/km_link", "services/pii",
             "services/evidence", "services/directory", "services/va", "services/va_feed",
             "services/tsa", "services/core", "net", "x509", "audit", "device", "store", "crypto", "base"],
}

# File-scoped extra dependencies: (component, file-name regex, extra component, why).
SCOPED_REQUIRES = [
    ("services/va", r"^va_(routes\.(h|cc)|http_test\.cc)$", "net",
     "the OCSP routes are their own library (gmpki_va_http); its HTTP tests run a server"),
    ("services/va", r"^va_test_util\.h$", "audit", "the tests build a real CA, which needs the audit tables"),
    ("services/va_feed", r"^feed_(routes|sender)\.(h|cc)$", "net",
     "the feed's sender and receiving route are their own library (gmpki_va_feed_http)"),
    ("services/va_feed", r"^feed_(e2e|bulk)_test\.cc$", "services/ca",
     "the feed tests export what a real CA issued and revoked"),
    ("services/va_feed", r"^feed_e2e_test\.cc$", "net", "the end-to-end test pushes over HTTPS"),
    ("services/tsa", r"^tsa_(routes\.(h|cc)|service_test\.cc)$", "net",
     "the TSA routes are their own library (gmpki_tsa_http)"),
    ("services/tsa", r"^tsa_routes\.(h|cc)$", "services/core",
     "the verify route answers through the shared JSON front (operator_api.h)"),
    ("services/directory", r"^directory_test\.cc$", "audit",
     "the directory tests publish what the real CA service issued and revoked"),
    ("services/directory", r"^directory_test\.cc$", "device",
     "the directory tests publish what the real CA service issued and revoked"),
    ("services/directory", r"^directory_test\.cc$", "services/core",
     "the directory tests publish what the real CA service issued and revoked"),
    ("services/directory", r"^directory_test\.cc$", "services/ca",
     "the directory tests publish what the real CA service issued and revoked"),
    ("services/core", r"^operator_api\.(h|cc)$", "net",
     "the operator APIs' shared front is its own library (gmpki_operator_api)"),
    ("services/ca", r"^(ca|ra)_routes\.(h|cc)$", "net",
     "the CA's HTTP routes are their own library (gmpki_ca_http); the CA logic stays HTTP-free"),
    ("services/cmp", r"^cmp_(routes\.(h|cc)|openssl_interop_test\.cc|signature_test\.cc)$", "net",
     "the CMP route is its own library (gmpki_cmp_http); its HTTP tests run a server"),
    ("services/km", r"^km_routes\.(h|cc)$", "net",
     "the KM's HTTP routes are their own library (gmpki_km_http); the KM logic stays HTTP-free"),
    ("services/ra", r"^ra_dual_test\.cc$", "services/km",
     "the RA's dual-certificate test runs a KM in process (the RA library never reaches the KM)"),
    ("services/ra", r"^ra_dual_test\.cc$", "services/km_link",
     "the RA's dual-certificate test runs a KM in process (the RA library never reaches the KM)"),
    ("services/ra", r"^ra_routes\.(h|cc)$", "net",
     "the RA's HTTP routes are their own library (gmpki_ra_http)"),
    ("services/ra_batch", r"^batch_(routes|uploader|json)\.(h|cc)$", "net",
     "the batch routes and the uploader client are their own library (gmpki_ra_batch_http)"),
]

# Headers that only their own component (and its tests) may include, besides every
# "*_internal.h". Taken from the components' READMEs.
PRIVATE_HEADERS = {
    "audit/chain.h",
    "device/key_file.h",
    "device/gf256.h",
    "net/ossl.h",  # holds OpenSSL types; see the OpenSSL rule below
    "net/pipeline.h",
    "x509/signed_object.h",
}

# Components whose non-test files must do no file or process I/O and draw no randomness of
# their own (CONVENTIONS rule 1: files, sockets, time and randomness come in through
# interfaces). (component, file-name regex of exempt files, why).
NO_IO_COMPONENTS = [
    ("crypto", None, ""),
    ("x509", None, ""),
    ("audit", None, ""),
    ("services/ca", None, ""),
    ("services/core", r"^config\.cc$", "Config::Load reads DIR/gmpki.toml"),
]
IO_HEADERS = re.compile(r"^(fstream|iostream|random|unistd\.h|fcntl\.h|sys/.*|dirent\.h)$")


# --- External libraries -------------------------------------------------------------------
@dataclass(frozen=True)
class Library:
    name: str
    include: str        # regex on the text between <>
    homes: tuple        # regexes on the repo-relative path of the including file
    in_public_header: bool  # may a public header include it?
    where: str          # the rule in words, printed with a violation


ANYWHERE = (r".*",)
TESTS = ("<tests>",)  # special home: test files only (see IsTestFile)

LIBRARIES = [
    Library("OpenSSL", r"^openssl/", (r"^src/(crypto|x509|net)/", r"^src/services/cmp/cmp_server\.cc$"),
            False,
            "only in src/crypto, src/x509, src/net, in .cc files and private headers; and in "
            "src/services/cmp/cmp_server.cc, which runs OpenSSL's CMP server (RFC 4210)"),
    Library("Boost", r"^boost/", (r"^src/net/[^/]+\.cc$",), False,
            "only in src/net .cc files (the one HTTP core)"),
    Library("SQLite", r"^sqlite3\.h$", (r"^src/store/sqlite/",), False,
            "only in src/store/sqlite/"),
    Library("libpq", r"^(libpq-fe|libpq/.*|pg_config.*)\.h$", (r"^src/store/postgres/",), False,
            "only in src/store/postgres/"),
    Library("libldap", r"^(ldap|lber)\.h$", (r"^src/services/directory/ldap_publisher\.cc$",), False,
            "only in src/services/directory/ldap_publisher.cc (the directory publisher)"),
    Library("toml++", r"^toml\+\+/", (r"^src/services/core/config\.cc$",), False,
            "only in src/services/core/config.cc"),
    Library("spdlog", r"^spdlog/", (r"^src/base/log\.cc$",), False,
            "only in src/base/log.cc (the log facade)"),
    Library("CLI11", r"^CLI/", (r"^apps/",), False, "only in apps/"),
    Library("GoogleTest", r"^(gtest|gmock)/", TESTS, True, "only in test files"),
    Library("valgrind", r"^valgrind/", (r"^src/crypto/(sm2_engine/ct_check[a-z_]*|sm4_ct_check)\.cc$",), False,
            "only in the constant-time checks (src/crypto/sm2_engine/ct_check*.cc)"),
    # Vocabulary libraries, deliberately allowed everywhere: fmt is part of the base/log.h
    # facade (gmpki_base links it PUBLIC); JSON is the wire format of the API and of audit
    # records (net/http.h exposes nlohmann/json_fwd.hpp).
    Library("fmt", r"^fmt/", ANYWHERE, True, "anywhere"),
    Library("nlohmann_json", r"^nlohmann/", ANYWHERE, True, "anywhere"),
]

# C and POSIX headers we accept (the C++ standard library is any name without "." or "/").
SYSTEM_HEADERS = re.compile(
    r"^(assert|ctype|errno|fcntl|limits|signal|stdint|stddef|stdio|stdlib|string|strings|"
    r"time|unistd|dirent|poll|netdb|pthread|x86intrin|immintrin|cpuid)\.h$|"
    r"^(sys|netinet|arpa)/[a-z_]+\.h$")

# Production files whose names look like tests: the power-on self-tests (CC-FPT) run in every
# node, so they follow the production rules.
NOT_TESTS = {"src/crypto/self_test.h", "src/crypto/self_test.cc"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_EXT = (".h", ".hpp", ".cc", ".cpp", ".c")
SCAN_DIRS = ("src", "apps")


# --- Classification ----------------------------------------------------------------------
def ComponentOf(rel):
    """Component of a repo-relative path ("src/services/ca/x.cc" -> "services/ca"), or None."""
    parts = rel.split("/")
    if parts[0] == "apps":
        return "apps"
    if parts[0] != "src" or len(parts) < 3:
        return None
    if parts[1] == "services":
        name = "services/" + parts[2] if len(parts) >= 4 else None
    else:
        name = parts[1]
    return name if name in REQUIRES else None


def IsTestFile(rel):
    """Test sources and test-support files: under a tests/ or testing/ directory, or named
    *_test.cc, *_test_*.{cc,h} (fixtures, peers) or test_*.{cc,h}; except NOT_TESTS."""
    if rel in NOT_TESTS:
        return False
    parts = rel.split("/")
    if "tests" in parts[:-1] or "testing" in parts[:-1]:
        return True
    stem = os.path.splitext(parts[-1])[0]
    return stem.endswith("_test") or "_test_" in stem or stem.startswith("test_")


def IsPrivateHeader(inc):
    """inc is rooted at src/ ("net/ossl.h")."""
    return inc in PRIVATE_HEADERS or inc.endswith("_internal.h")


def IsHeader(rel):
    return rel.endswith((".h", ".hpp"))


def Closure():
    """Component -> every component it may include (itself included). Raises on a cycle."""
    allowed = {}

    def visit(name, stack):
        if name in allowed:
            return allowed[name]
        if name in stack:
            raise ValueError("dependency cycle: " + " -> ".join(stack + [name]))
        result = {name}
        for dep in REQUIRES[name]:
            if dep not in REQUIRES:
                raise ValueError(f"{name} requires undeclared component {dep}")
            result |= visit(dep, stack + [name])
        allowed[name] = result
        return result

    for name in REQUIRES:
        visit(name, [])
    return allowed


# --- The check ---------------------------------------------------------------------------
@dataclass
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self):
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def ResolveProject(root, inc):
    """Returns the repo-relative path of a project include, or None for an external one."""
    for candidate in ("src/" + inc, inc):
        if ComponentOf(candidate) and os.path.isfile(os.path.join(root, candidate)):
            return candidate
    return None


def CheckInclude(root, rel, lineno, quote, inc, allowed):
    comp = ComponentOf(rel)
    name = os.path.basename(rel)
    test = IsTestFile(rel)
    header = IsHeader(rel)
    public_header = header and not test and comp != "apps" and not IsPrivateHeader(rel[4:])
    out = []

    def bad(rule, msg):
        out.append(Violation(rel, lineno, rule, msg))

    target = ResolveProject(root, inc)
    if target is not None:
        tcomp = ComponentOf(target)
        scoped = {extra for c, pat, extra, _ in SCOPED_REQUIRES
                  if c == comp and re.match(pat, name)}
        if tcomp not in allowed[comp] and tcomp not in scoped:
            bad("layering", f"{comp} must not depend on {tcomp} ({inc}); {comp} may use: "
                + ", ".join(sorted(allowed[comp] - {comp})))
        if tcomp != comp and target.startswith("src/") and IsPrivateHeader(target[4:]):
            bad("private-header", f"{inc} is internal to {tcomp}")
        if IsTestFile(target) and not test:
            bad("test-only", f"{inc} is test support; only test files may include it")
        if quote == "<":
            bad("include-style", f"project header {inc} must be included with quotes")
        return out

    if quote == '"':
        bad("include-style", f'"{inc}" is not a file under src/<component>/ or apps/; project '
            "includes are rooted at src/ (\"crypto/sm2.h\")")
        return out

    for lib in LIBRARIES:
        if not re.search(lib.include, inc):
            continue
        if lib.homes is TESTS:
            home_ok = test
        else:
            home_ok = any(re.search(h, rel) for h in lib.homes)
        if not home_ok:
            bad("library-home", f"<{inc}>: {lib.name} {lib.where}")
        elif public_header and not lib.in_public_header:
            bad("public-header", f"<{inc}>: {lib.name} must not appear in a public header "
                "(name it *_internal.h or list it in PRIVATE_HEADERS if no other component "
                "includes it)")
        break
    else:
        if "." in inc or "/" in inc:
            if not SYSTEM_HEADERS.search(inc):
                bad("library-home", f"<{inc}> belongs to no declared library; declare its one "
                    "home in tools/depcheck/depcheck.py LIBRARIES")

    if not test and IO_HEADERS.search(inc):
        for c, exempt, _ in NO_IO_COMPONENTS:
            if c == comp and not (exempt and re.match(exempt, name)):
                bad("no-io", f"<{inc}>: {comp} does no I/O of its own (files, processes, "
                    "randomness come in through interfaces)")
    return out


def GitIgnored(root):
    """Paths git ignores under root (work in progress kept out of the tree): not checked."""
    import subprocess
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--others", "--ignored",
                              "--exclude-standard", "--directory"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return set()
    return {line.rstrip("/") for line in out.splitlines() if line}


def SourceFiles(root):
    ignored = GitIgnored(root)
    for top in SCAN_DIRS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXT):
                    rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                    if not any(rel == ig or rel.startswith(ig + "/") for ig in ignored):
                        yield rel


def Check(root):
    allowed = Closure()
    violations = []
    for rel in SourceFiles(root):
        if ComponentOf(rel) is None:
            violations.append(Violation(rel, 1, "component", "file is in no declared component; "
                                        "add the component to REQUIRES in depcheck.py"))
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if m:
                    violations.extend(CheckInclude(root, rel, lineno, m.group(1), m.group(2),
                                                   allowed))
    return violations


def PrintTable():
    allowed = Closure()
    print("| component | requires (direct) | may include (closure) |")
    print("|---|---|---|")
    for name, deps in REQUIRES.items():
        print(f"| {name} | {', '.join(deps) or '-'} | "
              f"{', '.join(sorted(allowed[name] - {name})) or '-'} |")
    for comp, pat, extra, why in SCOPED_REQUIRES:
        print(f"\nAlso: {comp} files matching {pat} may include {extra}: {why}.")
    print("\n| library | include | home |")
    print("|---|---|---|")
    for lib in LIBRARIES:
        print(f"| {lib.name} | `<{lib.include}>` | {lib.where} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    parser.add_argument("--print-table", action="store_true")
    args = parser.parse_args(argv)
    if args.print_table:
        PrintTable()
        return 0
    try:
        violations = Check(args.root)
    except ValueError as e:  # an inconsistent table is itself a failure
        print(f"depcheck: {e}", file=sys.stderr)
        return 1
    for v in violations:
        print(v)
    if violations:
        print(f"depcheck: {len(violations)} violation(s); the rules are the tables in "
              "tools/depcheck/depcheck.py", file=sys.stderr)
        return 1
    print("depcheck: no violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
