#include "base/log.h"

#include <mutex>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace gmpki::log {
namespace {
std::mutex g_mu;
std::shared_ptr<spdlog::logger> g_logger;

spdlog::logger& Logger() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_logger) {
    g_logger = spdlog::stderr_color_mt("gmpki");
    g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    g_logger->set_level(spdlog::level::info);
  }
  return *g_logger;
}
}  // namespace

void Write(Level level, std::string_view message) {
  auto& l = Logger();
  switch (level) {
    case Level::kDebug: l.debug("{}", message); break;
    case Level::kInfo: l.info("{}", message); break;
    case Level::kWarn: l.warn("{}", message); break;
    case Level::kError: l.error("{}", message); break;
  }
}

void SetLevel(Level level) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::debug, spdlog::level::info,
                                                       spdlog::level::warn, spdlog::level::err};
  Logger().set_level(kMap[static_cast<int>(level)]);
}

void SetFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_logger) spdlog::drop("gmpki");
  g_logger = spdlog::basic_logger_mt("gmpki", path);
  g_logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  g_logger->flush_on(spdlog::level::info);
}

}  // namespace gmpki::log

namespace gmpki {
std::string MaskIdentifier(std::string_view id) {
  if (id.size() <= 6) return std::string(id.size(), '*');
  std::string out(id);
  for (std::size_t i = 3; i + 2 < out.size(); ++i) out[i] = '*';
  return out;
}
}  // namespace gmpki
