// The security section: the allow-list reaches the structs, and each mistake
// (a key that is not a key, an unknown role, CURVE without a secret key or
// without clients, a duplicate) is reported at its line:column.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/config/config.h"

namespace vcgate::config {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> errors(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics)
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  return out;
}

LoadResult load(const std::string& security) {
  return loadConfigText("site:\n  id: s1\ncameras:\n  - id: cam-1\n    uri: test://a\n" + security,
                        "/etc/vcgate/site.yaml");
}

constexpr char kKeyA[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
constexpr char kKeyB[] = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

TEST(SecurityConfig, OffByDefault) {
  const auto result = load("");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result.config->security.curve);
  EXPECT_TRUE(result.config->security.clients.empty());
  EXPECT_TRUE(result.config->security.user.empty());
}

TEST(SecurityConfig, TheAllowListReachesTheStructs) {
  const auto result = load(std::string("security:\n  curve: true\n  secret_key_file: /etc/vcgate/keys/gw.key_secret\n"
                                       "  user: vcgate\n  clients:\n") +
                           "    - name: command-room\n      public_key: \"" + kKeyA + "\"\n      role: operator\n" +
                           "    - name: wall\n      public_key: \"" + kKeyB + "\"\n");
  ASSERT_TRUE(result.ok()) << testing::PrintToString(errors(result));
  const auto& s = result.config->security;
  EXPECT_TRUE(s.curve);
  EXPECT_EQ(s.secret_key_file, "/etc/vcgate/keys/gw.key_secret");
  EXPECT_EQ(s.user, "vcgate");
  ASSERT_EQ(s.clients.size(), 2u);
  EXPECT_EQ(s.clients[0].name, "command-room");
  EXPECT_EQ(s.clients[0].public_key, kKeyA);
  EXPECT_EQ(s.clients[0].role, "operator");
  EXPECT_EQ(s.clients[1].role, "viewer") << "the least privilege by default";
}

TEST(SecurityConfig, EachMistakeIsLocated) {
  // Lines: 6 security:, 7 curve, 8 clients:, 9 - name, 10 public_key, 11 role,
  // 12 - name (duplicate), 13 public_key (the same key again)
  const auto result = load(std::string("security:\n  curve: true\n  clients:\n") +
                           "    - name: a\n      public_key: short\n      role: root\n" +
                           "    - name: a\n      public_key: \"" + kKeyA + "\"\n" +
                           "    - name: b\n      public_key: \"" + kKeyA + "\"\n");
  EXPECT_THAT(
      errors(result),
      ElementsAre("6:1: security.curve is on but there is no 'secret_key_file' (make one with 'vcgatectl keygen')",
                  "10:19: security.clients.public_key must be a CURVE public key: 40 Z85 characters, as in the .key "
                  "file that 'vcgatectl keygen' writes (got 5 characters)",
                  "11:13: security.clients.role 'root' is not a role: viewer, operator or admin",
                  "12:7: security client 'a' appears twice",
                  "15:19: this public key is already on the list"));
}

TEST(SecurityConfig, CurveWithoutClientsIsRefused) {
  const auto result = load("security:\n  curve: true\n  secret_key_file: /k/gw.key_secret\n");
  EXPECT_THAT(errors(result), ElementsAre("6:1: security.curve is on but 'clients' is empty: no platform could connect"));
}

}  // namespace
}  // namespace vcgate::config
