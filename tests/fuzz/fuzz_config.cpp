// libFuzzer target: the config loader, on any text. loadConfigText must never
// crash or throw, and must either give a config or say what is wrong.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result = vcgate::config::loadConfigText(text, "/fuzz/site.yaml");
  // Exactly one of: a config, or at least one diagnostic.
  if (result.ok() == !result.diagnostics.empty()) std::abort();
  return 0;
}
