#include "tools/ctl/redact.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

#include "gateway/core/uri.h"

namespace vcgate::ctl {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string unquote(std::string value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
    return value.substr(1, value.size() - 2);
  return value;
}

void remember(std::vector<std::string>& secrets, std::string value) {
  value = unquote(std::move(value));
  if (value.empty() || value == "***") return;
  if (std::find(secrets.begin(), secrets.end(), value) == secrets.end()) secrets.push_back(std::move(value));
}

// Every URI password in a line, before redactText hides it: so that the
// same password can be scrubbed from logs that quote it differently.
void rememberUriPasswords(const std::string& line, std::vector<std::string>& secrets) {
  size_t pos = 0;
  while ((pos = line.find("://", pos)) != std::string::npos) {
    size_t begin = pos;
    while (begin > 0 && (std::isalnum(static_cast<unsigned char>(line[begin - 1])) || line[begin - 1] == '+' ||
                         line[begin - 1] == '-' || line[begin - 1] == '.'))
      --begin;
    size_t end = pos + 3;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])) && line[end] != '"' &&
           line[end] != '\'')
      ++end;
    if (auto uri = core::parseUri(line.substr(begin, end - begin)); uri && uri->has_password)
      remember(secrets, uri->password);
    pos = end;
  }
}

size_t indentOf(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

bool blankOrComment(const std::string& line) {
  const size_t n = indentOf(line);
  return n == line.size() || line[n] == '#';
}

}  // namespace

bool isSecretKey(std::string_view key) {
  const std::string k = lower(key);
  if (k.find("public") != std::string::npos) return false;
  for (const char* word : {"password", "passwd", "secret", "token", "credential"})
    if (k.find(word) != std::string::npos) return true;
  // "key", but not the video words that contain it.
  std::string rest = k;
  for (const char* harmless : {"keyframe", "keyint", "key_int"}) {
    for (size_t at; (at = rest.find(harmless)) != std::string::npos;) rest.erase(at, std::string_view(harmless).size());
  }
  return rest.find("key") != std::string::npos;
}

Redacted redactConfig(std::string_view yaml) {
  // key: value as a block entry ("  - password: x" too).
  static const std::regex kBlockEntry(R"(^(\s*(?:-\s+)?)(["']?)([A-Za-z0-9_.-]+)\2(\s*):(\s*)(.*)$)");
  // key: value or key=value anywhere (flow mappings, query strings,
  // comments), tried at every word start: a key can hide inside another
  // key's value (uri: rtsp://cam/live?token=...).
  static const std::regex kInline(R"(^([A-Za-z0-9_.-]+)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^,}\]\s#&'"]+))");
  Redacted out;
  std::istringstream in{std::string(yaml)};
  std::string line;
  bool in_secret_block = false;
  size_t block_indent = 0;
  bool first = true;
  while (std::getline(in, line)) {
    if (!first) out.text += '\n';
    first = false;
    rememberUriPasswords(line, out.secrets);
    if (in_secret_block && !blankOrComment(line)) {
      const size_t indent = indentOf(line);
      const bool sibling_item = indent == block_indent && line.compare(indent, 2, "- ") == 0;
      if (indent > block_indent || sibling_item) {
        // Inside the block: keep the structure (indentation, "- ", "key:"), hide the scalar.
        std::smatch m;
        std::string prefix = line.substr(0, indent);
        std::string rest = line.substr(indent);
        if (rest.starts_with("- ")) {
          prefix += "- ";
          rest = rest.substr(2);
        }
        if (std::regex_match(rest, m, kBlockEntry) && !m[6].str().empty()) {
          remember(out.secrets, m[6].str());
          out.text += prefix + m[1].str() + m[2].str() + m[3].str() + m[2].str() + m[4].str() + ": \"***\"";
        } else if (std::regex_match(rest, m, kBlockEntry)) {
          out.text += line;  // a nested key without a value: its own lines are handled as they come
        } else {
          remember(out.secrets, rest);
          out.text += prefix + "\"***\"";
        }
        continue;
      }
      in_secret_block = false;
    }
    std::string redacted = core::redactText(line);
    std::smatch m;
    if (std::regex_match(redacted, m, kBlockEntry) && isSecretKey(m[3].str()) &&
        m[1].str().find('#') == std::string::npos) {
      const std::string value = m[6].str();
      if (value.empty() || value.starts_with("#")) {
        in_secret_block = true;
        block_indent = indentOf(redacted);
        out.text += redacted;
        continue;
      }
      if (value == "|" || value == ">" || value.starts_with("|") || value.starts_with(">")) {
        in_secret_block = true;  // a block scalar: the secret is on the lines below
        block_indent = indentOf(redacted);
        out.text += m[1].str() + m[2].str() + m[3].str() + m[2].str() + m[4].str() + ":" + m[5].str() + value;
        continue;
      }
      remember(out.secrets, value);
      redacted = m[1].str() + m[2].str() + m[3].str() + m[2].str() + m[4].str() + ":" + m[5].str() + "\"***\"";
    }
    // The rest of the line: flow mappings, query parameters, comments.
    std::string result = redacted;
    for (size_t i = 0; i < result.size(); ++i) {
      if (i > 0 && std::string_view(" \t{,?&#;(").find(result[i - 1]) == std::string_view::npos) continue;
      std::smatch match;
      if (!std::regex_search(result.cbegin() + static_cast<ptrdiff_t>(i), result.cend(), match, kInline,
                             std::regex_constants::match_continuous))
        continue;
      if (!isSecretKey(match[1].str()) || match[3].str() == "\"***\"") continue;
      remember(out.secrets, match[3].str());
      const size_t value_at = i + static_cast<size_t>(match.position(3));
      result.replace(value_at, static_cast<size_t>(match.length(3)), "\"***\"");
      i = value_at + 4;
    }
    out.text += result;
  }
  if (!yaml.empty() && yaml.back() == '\n') out.text += '\n';
  return out;
}

std::string scrubSecrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out = core::redactText(text);
  for (const auto& secret : secrets) {
    if (secret.size() < 3) continue;
    for (size_t at = 0; (at = out.find(secret, at)) != std::string::npos;) {
      out.replace(at, secret.size(), "***");
      at += 3;
    }
  }
  return out;
}

}  // namespace vcgate::ctl
