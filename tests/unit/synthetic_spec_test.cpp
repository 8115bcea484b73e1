#include "gateway/core/synthetic_spec.h"

#include <gtest/gtest.h>

namespace vcgate::core {
namespace {

TEST(SyntheticSpec, DefaultsWhenNoParameters) {
  auto spec = parseSyntheticUri("test://lobby");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->name, "lobby");
  EXPECT_EQ(spec->codec, VideoCodec::kH264);
  EXPECT_EQ(spec->width, 640);
  EXPECT_EQ(spec->fps, 25);
}

TEST(SyntheticSpec, ParsesEveryParameterAndRoundTrips) {
  const std::string uri = "test://hall?codec=h265&width=1920&height=1080&fps=30&bitrate_kbps=4000&gop=60&pattern=smpte";
  auto spec = parseSyntheticUri(uri);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->codec, VideoCodec::kH265);
  EXPECT_EQ(spec->width, 1920);
  EXPECT_EQ(spec->height, 1080);
  EXPECT_EQ(spec->fps, 30);
  EXPECT_EQ(spec->bitrate_kbps, 4000);
  EXPECT_EQ(spec->gop, 60);
  EXPECT_EQ(spec->pattern, "smpte");
  EXPECT_EQ(toUri(*spec), uri);
}

TEST(SyntheticSpec, ErrorsNameTheParameter) {
  auto bad_codec = parseSyntheticUri("test://x?codec=vp8");
  ASSERT_FALSE(bad_codec.ok());
  EXPECT_NE(bad_codec.error().message.find("vp8"), std::string::npos);
  auto range = parseSyntheticUri("test://x?fps=0");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("'fps' is 0, must be between 1 and 120"), std::string::npos);
  auto unknown = parseSyntheticUri("test://x?colour=red");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown test:// parameter 'colour'"), std::string::npos);
  EXPECT_FALSE(parseSyntheticUri("test://x?width=abc").ok());
  EXPECT_FALSE(parseSyntheticUri("test://x?width=641").ok());
  EXPECT_FALSE(parseSyntheticUri("rtsp://x").ok());
}

}  // namespace
}  // namespace vcgate::core
