#!/bin/sh
# Regenerates the VP8, VP9 and AV1 frames used by test/webm-writer.test.ts. Run once; the outputs
# are committed. WebRTC-like settings: realtime, no lagged or hidden frames (one shown frame per
# IVF record), 10 fps, a keyframe every 10 frames, low bitrate so the files stay tiny.
# (H264 comes from test/data/mp4, made by its make.sh with x264.)
set -e
cd "$(dirname "$0")"
src() { echo "testsrc2=size=$1:rate=10"; }
vp8() { # size frames out
  ffmpeg -v error -y -f lavfi -i "$(src "$1")" -frames:v "$2" -c:v libvpx -deadline realtime -cpu-used 8 \
    -lag-in-frames 0 -auto-alt-ref 0 -b:v 60k -g 10 -keyint_min 10 -f ivf "$3"
}
vp9() {
  ffmpeg -v error -y -f lavfi -i "$(src "$1")" -frames:v "$2" -c:v libvpx-vp9 -deadline realtime -cpu-used 8 \
    -lag-in-frames 0 -auto-alt-ref 0 -row-mt 1 -b:v 60k -g 10 -keyint_min 10 -pix_fmt yuv420p -f ivf "$3"
}
av1() {
  # The IVF muxer inserts temporal delimiter OBUs; the test loader strips them.
  ffmpeg -v error -y -f lavfi -i "$(src "$1")" -frames:v "$2" -c:v libaom-av1 -usage realtime -cpu-used 8 \
    -lag-in-frames 0 -b:v 60k -g 10 -keyint_min 10 -pix_fmt yuv420p -f ivf "$3"
}
vp8 160x120 20 vp8-160x120.ivf
vp8 320x180 10 vp8-320x180.ivf
vp9 160x120 20 vp9-160x120.ivf
vp9 320x180 10 vp9-320x180.ivf
av1 160x120 20 av1-160x120.ivf
av1 320x180 10 av1-320x180.ivf
