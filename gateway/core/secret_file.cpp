#include "gateway/core/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace vcgate::core {

Result<std::string> readSecretFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return makeCodedError("missing", fmt::format("secret file {} does not exist", path));
    return makeCodedError("unreadable", fmt::format("cannot read secret file {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return makeCodedError("unreadable", fmt::format("secret file {} is not a regular file", path));
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return makeCodedError("insecure",
                          fmt::format("secret file {} is readable by its group or by everyone (mode {:03o}); "
                                      "refused: run 'chmod 600 {}'",
                                      path, st.st_mode & 0777, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeCodedError("unreadable", fmt::format("cannot read secret file {}: {}", path, std::strerror(errno)));
  std::ostringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return makeCodedError("empty", fmt::format("secret file {} is empty", path));
  return text;
}

Result<void> writeSecretFile(const std::string& path, const std::string& content, bool replace) {
  if (!replace && ::access(path.c_str(), F_OK) == 0)
    return makeCodedError("exists", fmt::format("{} already exists; not overwriting a key", path));
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return makeCodedError("unwritable", fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
  // The umask may only narrow the mode, but an existing temporary may be wider.
  bool ok = ::fchmod(fd, 0600) == 0;
  const std::string text = content + "\n";
  ok = ok && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int why = ok ? errno : saved;
    ::unlink(temporary.c_str());
    return makeCodedError("unwritable", fmt::format("cannot write {}: {}", path, std::strerror(why)));
  }
  return {};
}

}  // namespace vcgate::core
