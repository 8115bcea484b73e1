#include "gateway/core/uri.h"

#include <gtest/gtest.h>

namespace vcgate::core {
namespace {

TEST(Uri, ParsesRtspWithCredentialsAndPort) {
  auto uri = parseUri("rtsp://admin:s3cret@192.0.2.10:8554/Streaming/Channels/101?transport=tcp");
  ASSERT_TRUE(uri.ok()) << uri.error().message;
  EXPECT_EQ(uri->scheme, "rtsp");
  EXPECT_EQ(uri->user, "admin");
  EXPECT_EQ(uri->password, "s3cret");
  EXPECT_TRUE(uri->has_password);
  EXPECT_EQ(uri->host, "192.0.2.10");
  EXPECT_EQ(uri->port, 8554);
  EXPECT_EQ(uri->path, "/Streaming/Channels/101");
  EXPECT_EQ(uri->query.at("transport"), "tcp");
}

TEST(Uri, ParsesFileAndIpv6) {
  auto file = parseUri("file:///var/media/clip.mp4");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->host, "");
  EXPECT_EQ(file->path, "/var/media/clip.mp4");
  auto v6 = parseUri("rtsp://[2001:db8::1]:554/live");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "[2001:db8::1]");
  EXPECT_EQ(v6->port, 554);
}

TEST(Uri, RejectsMalformed) {
  EXPECT_FALSE(parseUri("not a uri").ok());
  EXPECT_FALSE(parseUri("rtsp://host:99999/x").ok());
  EXPECT_FALSE(parseUri("rtsp://host:12ab/x").ok());
  EXPECT_FALSE(parseUri("1tp://host/").ok());
  EXPECT_FALSE(parseUri("rtsp://[::1/x").ok());
}

TEST(Uri, RedactsPasswordsButKeepsTheRest) {
  EXPECT_EQ(redactUri("rtsp://admin:s3cret@192.0.2.10:554/live"), "rtsp://admin:***@192.0.2.10:554/live");
  EXPECT_EQ(redactUri("rtsp://192.0.2.10/live"), "rtsp://192.0.2.10/live");
  EXPECT_EQ(redactUri("rtsp://user@host/live"), "rtsp://user@host/live");
  // A password containing '@' and ':' is still hidden entirely.
  EXPECT_EQ(redactUri("rtsp://u:p@ss:w@rd@host/x"), "rtsp://u:***@host/x");
}

TEST(Uri, RedactsEveryUriInsideFreeText) {
  const std::string text =
      "Could not open 'rtsp://a:one@h1/x' then rtsp://b:two@h2:554/y failed; file:///tmp/z ok";
  const std::string redacted = redactText(text);
  EXPECT_EQ(redacted.find("one"), std::string::npos);
  EXPECT_EQ(redacted.find("two"), std::string::npos);
  EXPECT_NE(redacted.find("rtsp://a:***@h1/x"), std::string::npos);
  EXPECT_NE(redacted.find("rtsp://b:***@h2:554/y"), std::string::npos);
  EXPECT_NE(redacted.find("file:///tmp/z ok"), std::string::npos);
}

}  // namespace
}  // namespace vcgate::core
