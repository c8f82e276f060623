// Test-only reader for the known-answer files under testdata/vectors/<source>/*.vec: records of
// "Name = value" lines separated by blank lines; '#' starts a comment line.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace gmpki::crypto::testing {

struct VectorRecord {
  std::string file;
  int line = 0;  // first line of the record, for failure messages
  std::map<std::string, std::string> fields;

  bool Has(const std::string& name) const { return fields.count(name) != 0; }
  const std::string& Str(const std::string& name) const;
  Bytes Hex(const std::string& name) const;  // fails the current test on bad hex
  std::string Where() const { return file + ":" + std::to_string(line); }
};

// `relative` is relative to GMPKI_TESTDATA "/vectors/". Fails the test if the file is missing
// or empty, so a vector file that silently disappears cannot make a test pass.
std::vector<VectorRecord> LoadVectors(const std::string& relative);

std::string ReadTestdataFile(const std::string& relative);

}  // namespace gmpki::crypto::testing
