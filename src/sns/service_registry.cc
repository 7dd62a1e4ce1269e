#include <cstdio>
#include <cstdlib>
#include <map>

#include "sns/service.h"

namespace tacc::sns {

namespace {
struct Entry {
  std::string description;
  ServiceFactory factory;
};
std::map<std::string, Entry>& Table() {
  static std::map<std::string, Entry> t;
  return t;
}
}  // namespace

bool RegisterServiceImpl(const std::string& name, const std::string& description, ServiceFactory factory) {
  if (!Table().emplace(name, Entry{description, std::move(factory)}).second) {
    std::fprintf(stderr, "fatal: service '%s' registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

const ServiceFactory* FindService(const std::string& name) {
  auto it = Table().find(name);
  return it == Table().end() ? nullptr : &it->second.factory;
}

std::vector<std::pair<std::string, std::string>> ListServices() {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [n, e] : Table()) out.emplace_back(n, e.description);
  return out;
}

}  // namespace tacc::sns
