#!/bin/sh
# Regenerates the H264 elementary streams used by test/mp4-*.test.ts. Run once; the outputs are committed.
# Constrained-baseline-like (no B-frames, as WebRTC sends), 10 fps, SPS/PPS repeated before every IDR,
# one access unit delimiter per frame (the tests split on it), x264's SEI removed.
set -e
cd "$(dirname "$0")"
enc() { # size frames keyint out
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=$1:rate=10" -frames:v "$2" -c:v libx264 -profile:v baseline \
    -preset veryfast -crf 46 -g "$3" -keyint_min "$3" -sc_threshold 0 -bf 0 \
    -x264-params repeat-headers=1:aud=1 -bsf:v filter_units=remove_types=6 -f h264 "$4"
}
enc 320x240 40 40 gop40-320x240.h264
enc 640x360 20 10 gop10-640x360.h264
