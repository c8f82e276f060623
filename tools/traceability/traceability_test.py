#!/usr/bin/env python3
"""Self-test of traceability.py on a temporary tree (run by CTest as traceability_selftest)."""

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
SCRIPT = os.path.join(HERE, "traceability.py")
_spec = importlib.util.spec_from_file_location("traceability", SCRIPT)
tr = importlib.util.module_from_spec(_spec)
sys.modules["traceability"] = tr  # dataclasses look their module up here
_spec.loader.exec_module(tr)

CATALOG = textwrap.dedent("""\
    # Requirements catalog

    ## Base layer
    | ID | requirement |
    |---|---|
    | KM-01..03 | Key management: generation, storage, and recovery (LD/T §7.3.2). |
    | CA-03 | Generate, sign, store and update CRLs. |
    | CA-04 | Certificate and CRL formats. |

    ## Security
    | ID | requirement |
    |---|---|
    | CC-FAU | Security audit. |
    | CC-FPR | Privacy. |
    """)

CPP_TEST = textwrap.dedent("""\
    #include <gtest/gtest.h>

    // req: CA-03
    TEST(CrlTest, SignsWithTheGmId) { EXPECT_TRUE(true); }

    // Why: the audit chain must break on any edit.
    // req: CC-FAU, KM-01..02
    TEST_F(AuditTest,
           DetectsEdits) {}

    // req: CC-FAU
    TYPED_TEST(StoreTest, RoundTrips) {}

    // req: XX-99
    TEST_P(ParamSuite, Works) {}

    TEST(Naming, CA_04_ParsesGmCert) {}

    // req: CC-FPR
    int helper() { return 1; }
    TEST(Orphan, NotAnnotated) {}
    """)


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = tr.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


class TraceabilityTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = os.path.join(self.tmp.name, "repo")
        write(self.tmp.name, "shared/REQUIREMENTS.md", CATALOG)
        write(self.root, "src/x509/crl_test.cc", CPP_TEST)
        write(self.root, "tests/interop/selftest.sh",
              "#!/bin/sh\n# ctest: interop_selftest\n# req: CA-04 checked by an outside tool\n")
        write(self.root, "tests/integration/km_flow.sh", "# req: KM-03\n")
        write(self.root, "tests/CMakeLists.txt",
              "# req: CA-03\nadd_test(NAME crl_cli COMMAND sh x.sh)\n")
        self.doc = os.path.join(self.root, "docs", "traceability.md")

    def tearDown(self):
        self.tmp.cleanup()

    def generate(self, *extra):
        rc, out, err = run("--root", self.root, *extra)
        self.assertEqual(rc, 0, err)
        with open(self.doc, encoding="utf-8") as f:
            return f.read(), err

    def test_mapping_from_every_annotation_form(self):
        text, _ = self.generate()
        rows = {}
        for l in tr.mapping_lines_from_doc(text):
            rid, test = l.split(": ", 1)
            rows.setdefault(rid, []).append(test)
        self.assertEqual(rows["CA-03"], ["CrlTest.SignsWithTheGmId", "crl_cli"])
        self.assertEqual(rows["CA-04"], ["Naming.CA_04_ParsesGmCert", "interop_selftest"])
        self.assertEqual(rows["CC-FAU"], ["AuditTest.DetectsEdits", "StoreTest.RoundTrips"])
        self.assertEqual(rows["KM-01"], ["AuditTest.DetectsEdits"])
        self.assertEqual(rows["KM-02"], ["AuditTest.DetectsEdits"])
        self.assertEqual(rows["KM-03"], ["km_flow"])  # script file name fallback
        self.assertEqual(rows["CC-FPR"], ["(no test)"])  # orphan annotation not counted
        self.assertEqual(rows["XX-99"], ["ParamSuite.Works"])  # unknown ID still shown
        self.assertIn("## Requirements with no test\n\n- CC-FPR: Privacy.", text)
        self.assertIn("| KM-02 | Key management: storage |", text)

    def test_orphan_annotation_warns(self):
        _, err = self.generate()
        self.assertRegex(err, r"crl_test\.cc:\d+: 'req:' annotation is not followed by a test")

    def test_check_passes_when_fresh_and_ignores_status(self):
        self.generate()
        junit = write(self.tmp.name, "junit.xml", """<testsuite>
            <testcase name="CrlTest.SignsWithTheGmId" status="run"/>
            <testcase name="crl_cli" status="fail"><failure message="x"/></testcase>
            </testsuite>""")
        self.generate("--junit", junit)  # statuses change; mapping does not
        rc, out, err = run("--root", self.root, "--check")
        self.assertEqual(rc, 0, out + err)

    def test_check_detects_a_stale_file(self):
        self.generate()
        with open(os.path.join(self.root, "src/x509/crl_test.cc"), "a", encoding="utf-8") as f:
            f.write("\n// req: CA-04\nTEST(CrlTest, NewTest) {}\n")
        rc, out, err = run("--root", self.root, "--check")
        self.assertEqual(rc, 1)
        self.assertIn("+CA-04: CrlTest.NewTest\n", out)
        self.assertNotIn("-CA-04", out)  # the existing pairs are unchanged
        self.assertIn("stale", err)

    def test_check_detects_a_removed_annotation_and_a_new_requirement(self):
        self.generate()
        write(self.root, "tests/integration/km_flow.sh", "echo no annotation\n")
        with open(os.path.join(self.tmp.name, "shared/REQUIREMENTS.md"), "a",
                  encoding="utf-8") as f:
            f.write("| CC-FTA | Access to the system. |\n")
        rc, out, _ = run("--root", self.root, "--check")
        self.assertEqual(rc, 1)
        self.assertIn("-KM-03: km_flow\n", out)
        self.assertIn("+KM-03: (no test)\n", out)
        self.assertIn("+CC-FTA: (no test)\n", out)

    def test_check_without_file_fails(self):
        rc, _, err = run("--root", self.root, "--check")
        self.assertEqual(rc, 1)
        self.assertIn("missing", err)

    def test_missing_catalog_is_an_error(self):
        rc, _, err = run("--root", self.root, "--catalog", os.path.join(self.tmp.name, "none.md"))
        self.assertEqual(rc, 2)
        self.assertIn("catalog not found", err)

    def test_junit_status_matches_discovered_gtest_names(self):
        junit = write(self.tmp.name, "junit.xml", """<testsuite>
            <testcase name="CrlTest.SignsWithTheGmId" status="run"/>
            <testcase name="crl_cli" status="run"/>
            <testcase name="StoreTest/0.RoundTrips" status="run"/>
            <testcase name="StoreTest/1.RoundTrips" status="fail"><failure message="pg"/></testcase>
            <testcase name="AuditTest.DetectsEdits" status="run"/>
            <testcase name="Inst/ParamSuite.Works/0" status="run"/>
            <testcase name="Inst/ParamSuite.Works/1" status="run"/>
            <testcase name="interop_selftest" status="notrun"/>
            <testcase name="Naming.CA_04_ParsesGmCert" status="run"/>
            </testsuite>""")
        text, _ = self.generate("--junit", junit)
        self.assertIn("| CA-03 | Generate, sign, store and update CRLs. | "
                      "`CrlTest.SignsWithTheGmId` (pass)<br>`crl_cli` (pass) | pass |", text)
        self.assertIn("`StoreTest.RoundTrips` (fail) | fail |", text)  # one typed instance failed
        self.assertIn("`ParamSuite.Works` (pass)", text)
        self.assertIn("`interop_selftest` (not run) | partial (1/2 passed) |", text)
        self.assertIn("`km_flow` (not run) | not run |", text)

    def test_command_line_check_exit_status(self):
        self.generate()
        with open(self.doc, encoding="utf-8") as f:
            text = f.read()
        with open(self.doc, "w", encoding="utf-8") as f:
            f.write(text.replace("`crl_cli`", "`crl_cli_renamed`"))
        p = subprocess.run([sys.executable, SCRIPT, "--root", self.root, "--check", "--quiet"],
                           capture_output=True, text=True, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("-CA-03: crl_cli_renamed\n", p.stdout)
        self.assertIn("+CA-03: crl_cli\n", p.stdout)


if __name__ == "__main__":
    unittest.main()
