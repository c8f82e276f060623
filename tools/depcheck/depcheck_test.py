#!/usr/bin/env python3
"""Self-test of depcheck.py: a clean temporary tree passes, and each planted violation is caught
with its file, line and rule (run by CTest as depcheck_selftest)."""

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "depcheck.py")
_spec = importlib.util.spec_from_file_location("depcheck", SCRIPT)
dc = importlib.util.module_from_spec(_spec)
sys.modules["depcheck"] = dc  # dataclasses look their module up here
_spec.loader.exec_module(dc)

# A miniature of the real layout that obeys every rule.
CLEAN_TREE = {
    "src/base/result.h": "#pragma once\n#include <variant>\n",
    "src/base/log.cc": "#include <spdlog/spdlog.h>\n#include \"base/result.h\"\n",
    "src/crypto/sm2.h": "#pragma once\n#include \"base/result.h\"\n",
    "src/crypto/ossl_internal.h": "#pragma once\n#include <openssl/evp.h>\n",
    "src/crypto/sm2_sign.cc": "#include \"crypto/sm2.h\"\n#include \"crypto/ossl_internal.h\"\n"
                              "#include <openssl/ec.h>\n",
    "src/crypto/sm2_test.cc": "#include <gtest/gtest.h>\n#include \"crypto/ossl_internal.h\"\n",
    "src/crypto/self_test.h": "#pragma once\n#include \"crypto/sm2.h\"\n",
    "src/device/device.h": "#pragma once\n#include \"crypto/sm2.h\"\n",
    "src/device/soft_device.cc": "#include \"device/device.h\"\n#include <fcntl.h>\n",
    "src/store/store.h": "#pragma once\n#include \"base/result.h\"\n",
    "src/store/sqlite/sqlite_database.cc": "#include <sqlite3.h>\n#include \"store/store.h\"\n",
    "src/store/testing/backends.h": "#pragma once\n#include <gtest/gtest.h>\n"
                                    "#include \"store/store.h\"\n",
    "src/audit/audit.h": "#pragma once\n#include \"store/store.h\"\n#include \"device/device.h\"\n",
    "src/audit/audit_test.cc": "#include \"store/testing/backends.h\"\n"
                               "#include \"audit/audit.h\"\n",
    "src/net/server.h": "#pragma once\n#include \"base/result.h\"\n",
    "src/net/server.cc": "#include <boost/asio.hpp>\n#include \"net/server.h\"\n",
    "src/x509/certificate.h": "#pragma once\n#include \"crypto/sm2.h\"\n",
    "src/services/core/config.cc": "#include <toml++/toml.h>\n#include <fstream>\n"
                                   "#include \"audit/audit.h\"\n",
    "src/services/ca/ca_service.h": "#pragma once\n#include \"x509/certificate.h\"\n"
                                    "#include \"audit/audit.h\"\n",
    "src/services/ca/ca_routes.cc": "#include \"net/server.h\"\n"
                                    "#include \"services/ca/ca_service.h\"\n",
    "src/services/node/node.cc": "#include \"crypto/self_test.h\"\n#include \"net/server.h\"\n"
                                 "#include \"services/ca/ca_service.h\"\n",
    "apps/main.cc": "#include <CLI/CLI.hpp>\n#include \"services/ca/ca_service.h\"\n",
}


class DepcheckTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        for rel, text in CLEAN_TREE.items():
            self.Write(rel, text)

    def tearDown(self):
        self._tmp.cleanup()

    def Write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    def Violations(self):
        return [(v.path, v.line, v.rule) for v in dc.Check(self.root)]

    def Plant(self, rel, text):
        """Writes rel and returns the violations found in it."""
        self.Write(rel, text)
        return [(line, rule) for path, line, rule in self.Violations() if path == rel]

    def test_clean_tree_passes(self):
        self.assertEqual(self.Violations(), [])
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(dc.main(["--root", self.root]), 0)

    def test_upward_include_fails(self):
        # crypto may use only base; store is a sibling layer above it.
        self.assertEqual(self.Plant("src/crypto/sm3.cc",
                                    "#include \"crypto/sm2.h\"\n#include \"store/store.h\"\n"),
                         [(2, "layering")])

    def test_store_may_not_use_crypto(self):
        self.assertEqual(self.Plant("src/store/store.cc", "#include \"crypto/sm2.h\"\n"),
                         [(1, "layering")])

    def test_net_only_in_ca_routes(self):
        self.assertEqual(self.Plant("src/services/ca/ca_certs.cc", "#include \"net/server.h\"\n"),
                         [(1, "layering")])

    def test_transitive_dependency_is_allowed(self):
        # services/core requires audit, which requires device: core may include device.
        self.assertEqual(self.Plant("src/services/core/roles.cc",
                                    "#include \"device/device.h\"\n"), [])

    def test_openssl_outside_its_homes_fails(self):
        self.assertEqual(self.Plant("src/audit/chain.cc", "#include <openssl/evp.h>\n"),
                         [(1, "library-home")])

    def test_openssl_in_public_header_fails(self):
        self.assertEqual(self.Plant("src/crypto/sm3.h", "#pragma once\n#include <openssl/evp.h>\n"),
                         [(2, "public-header")])

    def test_boost_outside_net_cc_fails(self):
        self.assertEqual(self.Plant("src/net/client.h", "#include <boost/asio.hpp>\n"),
                         [(1, "library-home")])
        self.assertEqual(self.Plant("src/x509/der.cc", "#include <boost/beast.hpp>\n"),
                         [(1, "library-home")])

    def test_database_libraries_stay_in_their_backends(self):
        self.assertEqual(self.Plant("src/store/store.cc", "#include <sqlite3.h>\n"),
                         [(1, "library-home")])
        self.assertEqual(self.Plant("src/store/sqlite/other.cc", "#include <libpq-fe.h>\n"),
                         [(1, "library-home")])

    def test_single_file_homes(self):
        self.assertEqual(self.Plant("src/services/core/roles.cc", "#include <toml++/toml.h>\n"),
                         [(1, "library-home")])
        self.assertEqual(self.Plant("src/base/bytes.cc", "#include <spdlog/spdlog.h>\n"),
                         [(1, "library-home")])
        self.assertEqual(self.Plant("src/services/node/node2.cc", "#include <CLI/CLI.hpp>\n"),
                         [(1, "library-home")])

    def test_gtest_and_test_support_only_in_tests(self):
        self.assertEqual(self.Plant("src/audit/audit.cc", "#include <gtest/gtest.h>\n"
                                    "#include \"store/testing/backends.h\"\n"),
                         [(1, "library-home"), (2, "test-only")])

    def test_self_test_is_production_code(self):
        # self_test.cc ends in _test.cc but is the CC-FPT power-on self-test: no gtest there.
        self.assertEqual(self.Plant("src/crypto/self_test.cc", "#include <gtest/gtest.h>\n"),
                         [(1, "library-home")])

    def test_private_header_of_another_component_fails(self):
        self.assertEqual(self.Plant("src/device/key.cc", "#include \"crypto/ossl_internal.h\"\n"),
                         [(1, "private-header")])

    def test_undeclared_library_fails(self):
        self.assertEqual(self.Plant("src/x509/name.cc", "#include <ldap.h>\n"),
                         [(1, "library-home")])

    def test_io_in_pure_component_fails(self):
        self.assertEqual(self.Plant("src/x509/pem.cc", "#include <fstream>\n#include <vector>\n"),
                         [(1, "no-io")])
        self.assertEqual(self.Plant("src/services/core/roles.cc", "#include <unistd.h>\n"),
                         [(1, "no-io")])

    def test_unrooted_and_angle_project_includes_fail(self):
        self.assertEqual(self.Plant("src/crypto/sm4.cc", "#include \"sm2.h\"\n"
                                    "#include <crypto/sm2.h>\n"),
                         [(1, "include-style"), (2, "include-style")])

    def test_file_outside_components_fails(self):
        self.assertEqual(self.Plant("src/ldap/publisher.cc", "#include \"base/result.h\"\n"),
                         [(1, "component")])

    def test_cycle_in_table_is_rejected(self):
        saved = dict(dc.REQUIRES)
        try:
            dc.REQUIRES["base"] = ["crypto"]
            with self.assertRaisesRegex(ValueError, "cycle"):
                dc.Closure()
        finally:
            dc.REQUIRES.clear()
            dc.REQUIRES.update(saved)

    def test_command_line_exit_status_and_output(self):
        self.Write("src/x509/certificate.cc", "#include \"x509/certificate.h\"\n"
                   "#include \"store/store.h\"\n")
        run = subprocess.run([sys.executable, SCRIPT, "--root", self.root],
                             capture_output=True, text=True, check=False)
        self.assertEqual(run.returncode, 1)
        self.assertIn("src/x509/certificate.cc:2: [layering] x509 must not depend on store",
                      run.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
