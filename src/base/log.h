// Log facade. spdlog lives behind log.cc only. Never pass a secret or a personal ID number:
// use MaskIdentifier() for anything that identifies a person (CC-FPR).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace gmpki::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void Write(Level level, std::string_view message);
void SetLevel(Level level);
// Sends log output to a file (created if absent) instead of stderr.
void SetFile(const std::string& path);

template <class... A>
void Debug(fmt::format_string<A...> f, A&&... a) { Write(Level::kDebug, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void Info(fmt::format_string<A...> f, A&&... a) { Write(Level::kInfo, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void Warn(fmt::format_string<A...> f, A&&... a) { Write(Level::kWarn, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void Error(fmt::format_string<A...> f, A&&... a) { Write(Level::kError, fmt::format(f, std::forward<A>(a)...)); }

}  // namespace gmpki::log

namespace gmpki {
// Keeps the first 3 and last 2 characters, masks the rest with '*':
// "110101199003077777" -> "110*************77". Strings of 6 or fewer become all '*'.
std::string MaskIdentifier(std::string_view id);
}  // namespace gmpki
