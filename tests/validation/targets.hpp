#pragma once
// Reads tests/validation/targets.csv (published figures with their bands and sources).
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lumbosim::validation {

struct Target {
  std::string id, quantity, condition, unit, source;
  double value = 0, lower = 0, upper = 0;
};

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) { out.push_back(cur); cur.clear(); }
    else cur.push_back(c);
  }
  out.push_back(cur);
  return out;
}

inline Target target(const std::string& id) {
  std::ifstream in(std::string(LUMBOSIM_SOURCE_DIR) + "/tests/validation/targets.csv");
  if (!in) throw std::runtime_error("cannot open tests/validation/targets.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto f = split_csv_line(line);
    if (f.size() < 9 || f[0] != id) continue;
    Target t;
    t.id = f[0];
    t.quantity = f[1];
    t.condition = f[2];
    t.value = std::stod(f[3]);
    t.lower = std::stod(f[4]);
    t.upper = std::stod(f[5]);
    t.unit = f[6];
    t.source = f[8];
    return t;
  }
  throw std::runtime_error("no validation target '" + id + "'");
}

}  // namespace lumbosim::validation
