#include "crypto/test_vectors.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace gmpki::crypto::testing {
namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

const std::string& VectorRecord::Str(const std::string& name) const {
  static const std::string kEmpty;
  auto it = fields.find(name);
  if (it == fields.end()) {
    ADD_FAILURE() << Where() << ": missing field " << name;
    return kEmpty;
  }
  return it->second;
}

Bytes VectorRecord::Hex(const std::string& name) const {
  auto r = HexDecode(Str(name));
  if (!r.ok()) {
    ADD_FAILURE() << Where() << ": field " << name << " is not hex";
    return {};
  }
  return std::move(r).value();
}

std::string ReadTestdataFile(const std::string& relative) {
  const std::string path = std::string(GMPKI_TESTDATA) + "/vectors/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<VectorRecord> LoadVectors(const std::string& relative) {
  std::istringstream in(ReadTestdataFile(relative));
  std::vector<VectorRecord> out;
  VectorRecord current;
  current.file = relative;
  std::string raw;
  int line_no = 0;
  auto flush = [&] {
    if (!current.fields.empty()) out.push_back(current);
    current.fields.clear();
  };
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = Trim(raw);
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      ADD_FAILURE() << relative << ":" << line_no << ": expected 'Name = value'";
      continue;
    }
    if (current.fields.empty()) current.line = line_no;
    current.fields[Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  flush();
  EXPECT_FALSE(out.empty()) << relative << " has no vectors";
  return out;
}

}  // namespace gmpki::crypto::testing
