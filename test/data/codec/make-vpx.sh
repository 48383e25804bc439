#!/bin/sh
# Regenerates the VP8/VP9 test data (run once; the outputs are committed, tests need only ffmpeg).
# Needs ffmpeg with libvpx, GStreamer 1.x (ivfparse, rtpvp8pay, rtpvp9pay, udpsink),
# python3, and gcc with libvpx-dev for the spatial-layer (SVC) encoder below.
#   vp8-clip.ivf       libvpx VP8, 10 frames 320x240 then 5 frames 176x144 (key frames at 0, 5,
#                      10), 4 token partitions, as one IVF (frames of both encodes, header of the first)
#   vp8-clip.rtp       that clip through GStreamer's rtpvp8pay (MTU 300, 15-bit PictureID starting
#                      near its wrap, sequence numbers and timestamps near theirs)
#   vp9-clip.ivf       libvpx-vp9, 10 frames 320x240 BT.709 full range (two-pass with alt-ref:
#                      frames 1 and 6 are superframes of a hidden and a shown frame), then 5 frames
#                      176x144 BT.601 limited range in real-time mode
#   vp9-clip.rtp       that clip through rtpvp9pay (MTU 300, 15-bit PictureID)
#   vp9-svc.ivf        libvpx real-time SVC: 3 spatial layers (80x60, 160x120, 320x240), inter-layer
#                      prediction on key pictures only and error resilient (k-SVC, as WebRTC sends
#                      L3T1_KEY: upper layers can be dropped), 6 pictures,
#                      key pictures at 0 and 4; each IVF frame is libvpx's superframe of the 3 layers
#   vp9-keyframes.json one 34x20 key frame per VP9 profile / bit depth / subsampling / colour
#                      space, with the vpcC fields ffmpeg writes for it when remuxing to MP4 (the
#                      oracle for Vp9Config; null for 4:4:0, which it cannot write) and ffprobe's size
# .rtp files: each packet as a 2-byte big-endian length and the RTP packet.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

src() { # size frames
  echo "-f lavfi -i testsrc=size=$1:rate=30 -frames:v $2"
}

# --- VP8
# shellcheck disable=SC2046
ffmpeg -hide_banner -loglevel error -y $(src 320x240 10) -c:v libvpx -b:v 300k -g 5 -keyint_min 5 \
  -deadline realtime -cpu-used 8 -lag-in-frames 0 -auto-alt-ref 0 -slices 4 "$tmp/vp8-a.ivf"
# shellcheck disable=SC2046
ffmpeg -hide_banner -loglevel error -y $(src 176x144 5) -c:v libvpx -b:v 200k -g 5 -keyint_min 5 \
  -deadline realtime -cpu-used 8 -lag-in-frames 0 -auto-alt-ref 0 -slices 4 "$tmp/vp8-b.ivf"

# --- VP9. The first part in two passes with alt-ref frames: libvpx packs each hidden one with the
# next shown frame into a superframe (one-pass encodes of a clip this short make none).
for pass in 1 2; do
  # shellcheck disable=SC2046
  ffmpeg -hide_banner -loglevel error -y $(src 320x240 10) -c:v libvpx-vp9 -b:v 300k -g 5 -keyint_min 5 \
    -deadline good -cpu-used 4 -lag-in-frames 16 -auto-alt-ref 1 -row-mt 0 -pass $pass -passlogfile "$tmp/pass" \
    -pix_fmt yuv420p -colorspace bt709 -color_range pc -f ivf "$tmp/vp9-a.ivf"
done
# shellcheck disable=SC2046
ffmpeg -hide_banner -loglevel error -y $(src 176x144 5) -c:v libvpx-vp9 -b:v 200k -g 5 -keyint_min 5 \
  -deadline realtime -cpu-used 8 -lag-in-frames 0 -row-mt 0 \
  -pix_fmt yuv420p -colorspace bt470bg -color_range tv "$tmp/vp9-b.ivf"

python3 - "$tmp" <<'PY'
import struct, sys
tmp = sys.argv[1]

def frames(path):
    d = open(path, 'rb').read()
    hl = struct.unpack_from('<H', d, 6)[0]
    out, pos = [], hl
    while pos < len(d):
        size = struct.unpack_from('<I', d, pos)[0]
        out.append(d[pos + 12:pos + 12 + size])
        pos += 12 + size
    return d[:hl], out

for codec in ('vp8', 'vp9'):
    head, a = frames(f'{tmp}/{codec}-a.ivf')
    _, b = frames(f'{tmp}/{codec}-b.ivf')
    all_frames = a + b
    head = head[:24] + struct.pack('<I', len(all_frames)) + head[28:]
    with open(f'{codec}-clip.ivf', 'wb') as f:
        f.write(head)
        for i, fr in enumerate(all_frames):
            f.write(struct.pack('<IQ', len(fr), i) + fr)
PY

# --- RTP through GStreamer. Fixed SSRC, offsets near the wraps of the 16-bit sequence number,
# 32-bit timestamp and 15-bit PictureID.
rtp() { # codec payloader-args...
  codec=$1; shift
  port=$((40000 + $$ % 20000))
  # rtp*pay pushes buffer lists, which multifilesink would write as one file: take them from UDP.
  python3 - "$port" "$codec-clip.rtp" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.settimeout(5)
with open(sys.argv[2], 'wb') as out:
    try:
        while True:
            pkt = s.recv(65536)
            out.write(struct.pack('>H', len(pkt)) + pkt)
            s.settimeout(1)
    except socket.timeout:
        pass
PY
  receiver=$!
  sleep 0.5
  gst-launch-1.0 -q filesrc location="$codec-clip.ivf" ! ivfparse ! "rtp${codec}pay" mtu=300 pt=96 ssrc=1234 \
    seqnum-offset=65530 timestamp-offset=4294960000 "$@" ! udpsink host=127.0.0.1 port="$port" sync=true
  wait "$receiver"
}
rtp vp8 picture-id-mode=15-bit picture-id-offset=32760
rtp vp9 picture-id-mode=15-bit

# --- VP9 spatial layers with libvpx's SVC encoder, the way WebRTC drives it.
cat > "$tmp/svc.c" <<'C'
/* vp9-svc-enc W H FRAMES LAYERS OUT.ivf KEY_EVERY: raw I420 on stdin -> IVF of libvpx superframes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

static void le16(FILE *f, unsigned v) { fputc(v & 255, f); fputc(v >> 8, f); }
static void le32(FILE *f, unsigned v) { le16(f, v & 0xffff); le16(f, v >> 16); }

int main(int argc, char **argv) {
  if (argc < 7) return 2;
  int w = atoi(argv[1]), h = atoi(argv[2]), n = atoi(argv[3]), layers = atoi(argv[4]), key_every = atoi(argv[6]);
  FILE *out = fopen(argv[5], "wb");
  vpx_codec_enc_cfg_t cfg;
  if (vpx_codec_enc_config_default(vpx_codec_vp9_cx(), &cfg, 0)) return 1;
  cfg.g_w = w; cfg.g_h = h; cfg.g_timebase.num = 1; cfg.g_timebase.den = 30;
  /* error resilient, as WebRTC encodes SVC: no frame context carries over, so that an SFU can
   * drop upper layers without breaking the lower ones */
  cfg.g_lag_in_frames = 0; cfg.g_threads = 1; cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
  cfg.rc_end_usage = VPX_CBR; cfg.rc_target_bitrate = 300; cfg.kf_mode = VPX_KF_DISABLED;
  cfg.rc_min_quantizer = 2; cfg.rc_max_quantizer = 56;
  cfg.ss_number_layers = layers; cfg.ts_number_layers = 1; cfg.ts_rate_decimator[0] = 1;
  cfg.temporal_layering_mode = 0;
  vpx_svc_extra_cfg_t svc;
  memset(&svc, 0, sizeof svc);
  for (int i = 0; i < layers; i++) {
    svc.max_quantizers[i] = 56; svc.min_quantizers[i] = 2; svc.speed_per_layer[i] = 7;
    svc.scaling_factor_num[i] = 1; svc.scaling_factor_den[i] = 1 << (layers - 1 - i);
    cfg.layer_target_bitrate[i] = cfg.ss_target_bitrate[i] = 300 * (i + 1) / layers;
  }
  vpx_codec_ctx_t ctx;
  if (vpx_codec_enc_init(&ctx, vpx_codec_vp9_cx(), &cfg, 0)) return 1;
  vpx_codec_control(&ctx, VP9E_SET_SVC, 1);
  vpx_codec_control(&ctx, VP9E_SET_SVC_PARAMETERS, &svc);
  vpx_codec_control(&ctx, VP8E_SET_CPUUSED, 7);
  vpx_codec_control(&ctx, VP9E_SET_SVC_INTER_LAYER_PRED, 2); /* on key pictures only */
  vpx_codec_control(&ctx, VP9E_SET_AQ_MODE, 0);
  fwrite("DKIF", 1, 4, out); le16(out, 0); le16(out, 32); fwrite("VP90", 1, 4, out);
  le16(out, w); le16(out, h); le32(out, 30); le32(out, 1); le32(out, n); le32(out, 0);
  vpx_image_t img;
  vpx_img_alloc(&img, VPX_IMG_FMT_I420, w, h, 1);
  size_t ysz = (size_t)w * h, csz = (size_t)((w + 1) / 2) * ((h + 1) / 2);
  int written = 0;
  for (int i = 0; i < n; i++) {
    if (fread(img.planes[0], 1, ysz, stdin) != ysz || fread(img.planes[1], 1, csz, stdin) != csz ||
        fread(img.planes[2], 1, csz, stdin) != csz) break;
    if (vpx_codec_encode(&ctx, &img, i, 1, i % key_every == 0 ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME)) return 1;
    const vpx_codec_cx_pkt_t *pkt;
    vpx_codec_iter_t iter = NULL;
    while ((pkt = vpx_codec_get_cx_data(&ctx, &iter))) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      le32(out, (unsigned)pkt->data.frame.sz); le32(out, (unsigned)pkt->data.frame.pts); le32(out, 0);
      fwrite(pkt->data.frame.buf, 1, pkt->data.frame.sz, out);
      written++;
    }
  }
  fclose(out);
  vpx_codec_destroy(&ctx);
  return written == n ? 0 : 1;
}
C
gcc -O2 -o "$tmp/svc" "$tmp/svc.c" -lvpx
# shellcheck disable=SC2046
ffmpeg -hide_banner -loglevel error $(src 320x240 6) -pix_fmt yuv420p -f rawvideo - | "$tmp/svc" 320 240 6 3 vp9-svc.ivf 4

# --- Key frames for Vp9Config, and what ffmpeg makes of them.
key() { # name pix_fmt [ffmpeg output args...]
  name=$1 pix=$2; shift 2
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=34x20:rate=30 -frames:v 1 \
    -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -crf 63 -b:v 0 -pix_fmt "$pix" "$@" "$tmp/key-$name.ivf"
  # vpcC has no code for 4:4:0: ffmpeg says "Unsupported pixel format" and writes a broken box
  case $name in *440*) ;; *) ffmpeg -hide_banner -loglevel error -y -i "$tmp/key-$name.ivf" -c copy "$tmp/key-$name.mp4" ;; esac
}
key p0-420-unknown yuv420p
key p0-420-bt601-full yuv420p -colorspace bt470bg -color_range pc
key p0-420-bt709 yuv420p -colorspace bt709
key p0-420-smpte170m yuv420p -colorspace smpte170m
key p0-420-smpte240m yuv420p -colorspace smpte240m
key p0-420-bt2020 yuv420p -colorspace bt2020nc
key p1-422 yuv422p -colorspace bt709
key p1-440 yuv440p
key p1-444-full yuv444p -colorspace bt709 -color_range pc
key p1-rgb gbrp
key p2-420-10bit yuv420p10le -colorspace bt2020nc
key p2-420-12bit yuv420p12le
key p3-422-10bit yuv422p10le
key p3-444-12bit yuv444p12le -colorspace smpte170m
key p3-rgb-10bit gbrp10le

python3 - "$tmp" <<'PY'
import glob, json, os, struct, subprocess, sys
tmp = sys.argv[1]
out = []
for ivf in sorted(glob.glob(f'{tmp}/key-*.ivf')):
    name = os.path.basename(ivf)[4:-4]
    d = open(ivf, 'rb').read()
    size = struct.unpack_from('<I', d, 32)[0]
    frame = d[44:44 + size]
    vpcc = None
    if os.path.exists(ivf[:-4] + '.mp4'):
        mp4 = open(ivf[:-4] + '.mp4', 'rb').read()
        i = mp4.index(b'vpcC')
        b = mp4[i + 8:i + 8 + 8]  # after version/flags: profile, level, depth/ss/range, primaries, transfer, matrix, init size
        vpcc = {'profile': b[0], 'bitDepth': b[2] >> 4, 'chromaSubsampling': (b[2] >> 1) & 7, 'fullRange': bool(b[2] & 1),
                'colourPrimaries': b[3], 'transferCharacteristics': b[4], 'matrixCoefficients': b[5]}
    probe = json.loads(subprocess.run(['ffprobe', '-v', 'quiet', '-show_entries', 'stream=width,height', '-of', 'json', ivf],
                                      capture_output=True, text=True).stdout)['streams'][0]
    out.append({'name': name, 'frame': frame.hex(), 'width': probe['width'], 'height': probe['height'], 'vpcc': vpcc})
json.dump(out, open('vp9-keyframes.json', 'w'), indent=1)
PY
