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

TEST(SyntheticSpec, ScriptedIncidentsCloseEachPeriodAndRoundTrip) {
  const std::string uri =
      "test://hall?codec=h264&width=640&height=360&fps=25&bitrate_kbps=800&gop=50&pattern=ball"
      "&incident=outage&incident_every_s=60&incident_s=15";
  auto spec = parseSyntheticUri(uri);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->incident, "outage");
  EXPECT_EQ(toUri(*spec), uri);
  // 45 s of video, then 15 s without, in every minute of the wall clock.
  EXPECT_FALSE(incidentActive(*spec, 6000));
  EXPECT_FALSE(incidentActive(*spec, 6044));
  EXPECT_TRUE(incidentActive(*spec, 6045));
  EXPECT_TRUE(incidentActive(*spec, 6059));
  EXPECT_FALSE(incidentActive(*spec, 6060));
  EXPECT_FALSE(incidentActive(*parseSyntheticUri("test://quiet"), 6059)) << "no incident unless asked for";

  EXPECT_FALSE(parseSyntheticUri("test://x?incident=fire").ok());
  EXPECT_FALSE(parseSyntheticUri("test://x?incident=blackout&incident_every_s=20&incident_s=20").ok());
  EXPECT_FALSE(parseSyntheticUri("test://x?incident_every_s=5").ok());
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
