#!/bin/sh
# Regenerates the codec test data with ffmpeg/libx264 (run once; the outputs are committed).
#   h264-sps.json   SPS NAL units with the fields ffmpeg reads from them (the test oracle)
#   h264-clip.h264  20-frame 320x240 Annex B clip: 3 slices per picture, AUDs, IDR every 10 frames
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

enc() { # name size pix_fmt x264-args...
  name=$1 size=$2 pix=$3; shift 3
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc=size=$size:rate=30" -frames:v 1 \
    -c:v libx264 -pix_fmt "$pix" "$@" -f h264 "$tmp/$name.h264"
}
enc baseline-640x360 640x360 yuv420p -profile:v baseline
enc main-1280x720 1280x720 yuv420p -profile:v main
enc baseline-320x240 320x240 yuv420p -profile:v baseline
enc high-1920x1080 1920x1080 yuv420p -profile:v high
enc high-interlaced-1920x1080 1920x1080 yuv420p -profile:v high -x264-params interlaced=1
enc high444-642x362 642x362 yuv444p -profile:v high444
enc high422-10bit-1920x1080 1920x1080 yuv422p10le -profile:v high422

ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 20 \
  -c:v libx264 -pix_fmt yuv420p -profile:v baseline -b:v 300k \
  -x264-params keyint=10:min-keyint=10:scenecut=0:slices=3:aud=1 -f h264 h264-clip.h264

python3 - "$tmp" <<'PY'
import json, os, re, subprocess, sys
tmp = sys.argv[1]

def nals(data):
    return [p for p in re.split(b'\x00\x00\x00\x01|\x00\x00\x01', data) if p]

# --- Crafted SPS for what x264 never writes (it puts scaling lists in the PPS, never uses POC
# type 1 or separate colour planes). Each is spliced in front of the High 1080p PPS + IDR (same
# frame_num/POC syntax) so ffprobe reports the size it implies.
class W:
    def __init__(s): s.bits = []
    def u(s, n, v): s.bits += [(v >> i) & 1 for i in range(n - 1, -1, -1)]
    def ue(s, v): v += 1; s.u(v.bit_length() - 1, 0); s.u(v.bit_length(), v)
    def se(s, v): s.ue(2 * v - 1 if v > 0 else -2 * v)
    def rbsp(s):
        b = s.bits + [1]
        b += [0] * (-len(b) % 8)
        return bytes(int(''.join(map(str, b[i:i + 8])), 2) for i in range(0, len(b), 8))

def ep(rbsp):  # add emulation prevention
    out, z = bytearray(), 0
    for x in rbsp:
        if z >= 2 and x <= 3: out.append(3); z = 0
        out.append(x); z = z + 1 if x == 0 else 0
    return bytes(out)

def sps(profile, level, wmbs, hunits, chroma=1, sep=0, scaling=None, poc=0, poc1=None, fmo=1, crop=None):
    w = W(); w.u(8, 0x67); w.u(8, profile); w.u(8, 0); w.u(8, level); w.ue(0)
    if profile in (100, 110, 122, 244):
        w.ue(chroma)
        if chroma == 3: w.u(1, sep)
        w.ue(0); w.ue(0); w.u(1, 0)
        w.u(1, scaling is not None)
        for i in range(12 if chroma == 3 else 8) if scaling is not None else []:
            lst = scaling.get(i)
            w.u(1, lst is not None)
            last = 8
            for v in lst or []:  # a 0 ends the list early (spec: repeat last / use default)
                w.se(((v - last + 128) % 256) - 128)
                if v == 0: break
                last = v
    w.ue(0); w.ue(poc)
    if poc == 0: w.ue(2)
    elif poc == 1:
        w.u(1, poc1[0]); w.se(poc1[1]); w.se(poc1[2]); w.ue(len(poc1[3]))
        for c in poc1[3]: w.se(c)
    w.ue(4); w.u(1, 0); w.ue(wmbs - 1); w.ue(hunits - 1); w.u(1, fmo)
    if not fmo: w.u(1, 1)
    w.u(1, 1)
    w.u(1, crop is not None)
    for c in crop or []: w.ue(c)
    w.u(1, 0)
    return ep(w.rbsp())

import random
random.seed(7)
l16 = [random.randint(1, 255) for _ in range(16)]
l64 = [random.randint(1, 255) for _ in range(64)]
crafted = {
    'crafted-high-scaling-lists': sps(100, 31, 80, 45, scaling={0: l16, 2: [20, 0], 6: l64, 7: [0]}, crop=(2, 0, 0, 3)),
    'crafted-high444-12-scaling-lists': sps(244, 40, 120, 68, chroma=3, scaling={0: l16, 6: l64, 9: l64, 11: [7, 0]}, crop=(0, 3, 0, 11)),
    'crafted-main-poc-type-1': sps(77, 30, 40, 30, poc=1, poc1=(0, -2, 1, [3, -5, 300])),
    'crafted-separate-colour-planes-interlaced': sps(244, 40, 80, 23, chroma=3, sep=1, fmo=0, crop=(0, 0, 0, 2)),
}
base = nals(open(f'{tmp}/high-1920x1080.h264', 'rb').read())
pps = next(n for n in base if n[0] & 0x1f == 8)
idr = next(n for n in base if n[0] & 0x1f == 5)
for name, s in crafted.items():
    open(f'{tmp}/{name}.h264', 'wb').write(b''.join(b'\0\0\0\1' + n for n in (s, pps, idr)))

FIELDS = ['profile_idc', 'level_idc', 'seq_parameter_set_id', 'chroma_format_idc', 'separate_colour_plane_flag',
          'bit_depth_luma_minus8', 'log2_max_frame_num_minus4', 'pic_order_cnt_type', 'max_num_ref_frames',
          'pic_width_in_mbs_minus1', 'pic_height_in_map_units_minus1', 'frame_mbs_only_flag',
          'frame_crop_left_offset', 'frame_crop_right_offset', 'frame_crop_top_offset', 'frame_crop_bottom_offset']
out = []
for f in sorted(os.listdir(tmp)):
    path = f'{tmp}/{f}'
    sps_nal = next(n for n in nals(open(path, 'rb').read()) if n[0] & 0x1f == 7)
    trace = subprocess.run(['ffmpeg', '-hide_banner', '-f', 'h264', '-i', path, '-c', 'copy', '-bsf:v', 'trace_headers',
                            '-f', 'null', '-'], capture_output=True, text=True).stderr
    fields = {}
    for m in re.finditer(r'\]\s+\d+\s+(\w+)\s+[01]+ = (-?\d+)', trace.split('Picture Parameter Set')[0]):
        if m.group(1) in FIELDS and m.group(1) not in fields: fields[m.group(1)] = int(m.group(2))
    probe = subprocess.run(['ffprobe', '-v', 'quiet', '-select_streams', 'v', '-show_entries', 'stream=width,height',
                            '-of', 'json', path], capture_output=True, text=True).stdout
    st = (json.loads(probe or '{}').get('streams') or [{}])[0]
    out.append({'name': f[:-5], 'sps': sps_nal.hex(),
                'ffprobe': {'width': st['width'], 'height': st['height']} if st.get('width') else None,
                'trace': fields})
json.dump(out, open('h264-sps.json', 'w'), indent=1)
PY
