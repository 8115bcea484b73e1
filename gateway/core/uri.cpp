#include "gateway/core/uri.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace vcgate::core {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool validScheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

Result<Uri> parseUri(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return makeError("not a URI: expected scheme://...");
  Uri uri;
  if (!validScheme(text.substr(0, sep))) return makeError("not a URI: invalid scheme");
  uri.scheme = lower(text.substr(0, sep));
  std::string_view rest = text.substr(sep + 3);

  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      if (!item.empty()) {
        const auto eq = item.find('=');
        uri.query[std::string(item.substr(0, eq))] =
            eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }

  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  uri.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    uri.user = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) {
      uri.password = std::string(userinfo.substr(colon + 1));
      uri.has_password = true;
    }
  }

  // Bracketed IPv6 literal, then an optional :port.
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return makeError("not a URI: unterminated [IPv6] host");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return makeError("not a URI: garbage after [IPv6] host");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  uri.host = std::string(host);
  if (!port.empty()) {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535)
      return makeError("invalid port '" + std::string(port) + "' (must be 1-65535)");
    uri.port = value;
  }
  return uri;
}

std::string redactUri(std::string_view text) { return redactText(text); }

std::string redactText(std::string_view text) {
  // For each "://", a password is whatever lies between the first ':' after it and
  // the last '@' before the next '/', whitespace or quote.
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const auto sep = text.find("://", pos);
    if (sep == std::string_view::npos) break;
    const size_t auth_begin = sep + 3;
    size_t auth_end = auth_begin;
    while (auth_end < text.size() && text[auth_end] != '/' && text[auth_end] != '?' &&
           !std::isspace(static_cast<unsigned char>(text[auth_end])) && text[auth_end] != '"' &&
           text[auth_end] != '\'' && text[auth_end] != '>')
      ++auth_end;
    const std::string_view authority = text.substr(auth_begin, auth_end - auth_begin);
    const auto at = authority.rfind('@');
    const auto colon = authority.find(':');
    out.append(text.substr(pos, auth_begin - pos));
    if (at != std::string_view::npos && colon != std::string_view::npos && colon < at) {
      out.append(authority.substr(0, colon + 1));
      out.append("***");
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    pos = auth_end;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace vcgate::core
