// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with its contents
// when the object goes away. Tests write their configs and state into one.
#pragma once

#include <filesystem>
#include <string>

namespace vcgate::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

}  // namespace vcgate::testing
