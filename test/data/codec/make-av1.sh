#!/bin/sh
# Regenerates the AV1 test data with ffmpeg (libaom-av1, libsvtav1, librav1e). Run once; the
# outputs are committed. All files are in the low-overhead OBU format (ffmpeg -f obu: a temporal
# delimiter starts each temporal unit, every OBU has obu_size).
#   av1-320x240.obu  15 frames, libaom "good" mode with lag: key frames at 0 and 10, hidden
#                    (show_frame = 0) frames, show_existing_frame TUs; one OBU_FRAME per frame
#   av1-640x360.obu  12 frames, libaom realtime mode (as WebRTC uses it): key frames at 0 and 10,
#                    2 tiles in 2 tile groups, so OBU_FRAME_HEADER + 2 OBU_TILE_GROUP per frame
#   av1-sequence-headers.json  sequence header OBUs (hex, with header and obu_size) with the fields
#                    ffmpeg's trace_headers reads from them (the test oracle): from encodes with
#                    many pixel formats, color descriptions, timing info, still picture, and
#                    crafted ones for what the encoders never write
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 -frames:v 15 \
  -c:v libaom-av1 -pix_fmt yuv420p -cpu-used 8 -g 10 -b:v 100k -f obu av1-320x240.obu
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=640x360:rate=30 -frames:v 12 \
  -c:v libaom-av1 -pix_fmt yuv420p -usage realtime -cpu-used 8 -g 10 -b:v 150k -tiles 2x1 -aom-params num-tile-groups=2 \
  -f obu av1-640x360.obu

enc() { # name size encoder pix_fmt args...
  name=$1 size=$2 codec=$3 pix=$4; shift 4
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc=size=$size:rate=30" -frames:v 1 \
    -c:v "$codec" -pix_fmt "$pix" "$@" -f obu "$tmp/$name.obu" 2>/dev/null
}
aom() { name=$1 size=$2 pix=$3; shift 3; enc "$name" "$size" libaom-av1 "$pix" -cpu-used 8 "$@"; }
aom aom-main-8bit-420-64x48 64x48 yuv420p
aom aom-main-10bit-420 64x48 yuv420p10le
aom aom-high-444 64x48 yuv444p
aom aom-high-gbr-srgb 64x48 gbrp
aom aom-pro-422 64x48 yuv422p
aom aom-pro-12bit-420 64x48 yuv420p12le
aom aom-pro-12bit-422 64x48 yuv422p12le
aom aom-pro-12bit-444 64x48 yuv444p12le
aom aom-monochrome 64x48 gray
aom aom-hdr10-full-range 64x48 yuv420p10le -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc -color_range pc
aom aom-chroma-topleft 64x48 yuv420p -chroma_sample_location topleft
aom aom-still-picture 64x48 yuv420p -still-picture 1
aom aom-timing-decoder-model 64x48 yuv420p -aom-params timing-info=model
aom aom-timing-constant 64x48 yuv420p -aom-params timing-info=constant
aom aom-1920x1080 1920x1080 yuv420p
aom aom-642x362 642x362 yuv420p
enc svt-av1-64x64 64x64 libsvtav1 yuv420p -preset 12
enc rav1e-64x64 64x64 librav1e yuv420p -speed 10
enc rav1e-422-10bit 64x64 librav1e yuv422p10le -speed 10

python3 - "$tmp" <<'PY'
import json, os, re, subprocess, sys
tmp = sys.argv[1]

def leb128(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)

def obus(data):
    pos = 0
    while pos < len(data):
        h = data[pos]; hl = 2 if h & 4 else 1
        size = shift = 0; p = pos + hl
        while True:
            b = data[p]; p += 1; size |= (b & 0x7f) << shift; shift += 7
            if not b & 0x80: break
        yield (h >> 3) & 15, data[pos:p + size]
        pos = p + size

# --- Crafted sequence headers for what the encoders do not write: several operating points with
# tiers, decoder model parameters and display delays; frame ids; equal picture interval (uvlc);
# forced screen content tools and integer MVs; no order hints; mono with a color description;
# 12-bit 4:2:0 with a chroma sample position; every tool flag set.
class W:
    def __init__(s): s.bits = []
    def f(s, n, v): s.bits += [(v >> i) & 1 for i in range(n - 1, -1, -1)]
    def uvlc(s, v):
        v += 1; n = v.bit_length() - 1
        s.f(n, 0); s.f(n + 1, v)
    def obu(s):
        b = s.bits + [1]; b += [0] * (-len(b) % 8)
        payload = bytes(int(''.join(map(str, b[i:i + 8])), 2) for i in range(0, len(b), 8))
        return bytes([0x0a]) + leb128(len(payload)) + payload

def sh(profile=0, still=0, reduced=0, level=8, timing=None, decoder_model=None, ops=None, idd=0,
       wbits=11, hbits=11, w=1280, h=720, frame_ids=None, tools=1, order_hint=1, sct=(1, None), imv=(1, None),
       hbd=0, twelve=0, mono=0, color=None, full=0, ss=None, csp=0, sep_uv=0, film=0):
    x = W(); x.f(3, profile); x.f(1, still); x.f(1, reduced)
    if reduced:
        x.f(5, level)
    else:
        x.f(1, timing is not None)
        if timing:
            x.f(32, timing[0]); x.f(32, timing[1]); x.f(1, timing[2] is not None)
            if timing[2] is not None: x.uvlc(timing[2])
            x.f(1, decoder_model is not None)
            if decoder_model: x.f(5, decoder_model[0] - 1); x.f(32, decoder_model[1]); x.f(5, decoder_model[2] - 1); x.f(5, decoder_model[3] - 1)
        x.f(1, idd)
        ops = ops or [(0, level, 0, None, None)]
        x.f(5, len(ops) - 1)
        for idc, lvl, tier, dm, delay in ops:
            x.f(12, idc); x.f(5, lvl)
            if lvl > 7: x.f(1, tier)
            if decoder_model:
                x.f(1, dm is not None)
                if dm: n = decoder_model[0]; x.f(n, dm[0]); x.f(n, dm[1]); x.f(1, dm[2])
            if idd:
                x.f(1, delay is not None)
                if delay is not None: x.f(4, delay - 1)
    x.f(4, wbits - 1); x.f(4, hbits - 1); x.f(wbits, w - 1); x.f(hbits, h - 1)
    if not reduced:
        x.f(1, frame_ids is not None)
        if frame_ids: x.f(4, frame_ids[0] - 2); x.f(3, frame_ids[1] - 1)
    x.f(1, tools); x.f(1, tools); x.f(1, tools)
    if not reduced:
        x.f(1, tools); x.f(1, tools); x.f(1, tools); x.f(1, tools); x.f(1, order_hint)
        if order_hint: x.f(1, tools); x.f(1, tools)
        x.f(1, sct[0])
        if not sct[0]: x.f(1, sct[1])
        if sct[0] or sct[1]:
            x.f(1, imv[0])
            if not imv[0]: x.f(1, imv[1])
        if order_hint: x.f(3, 6)
    x.f(1, tools); x.f(1, tools); x.f(1, tools)
    x.f(1, hbd)
    if profile == 2 and hbd: x.f(1, twelve)
    if profile != 1: x.f(1, mono)
    x.f(1, color is not None)
    if color: x.f(8, color[0]); x.f(8, color[1]); x.f(8, color[2])
    if mono:
        x.f(1, full)
    elif color == (1, 13, 0):
        pass
    else:
        x.f(1, full)
        if profile == 2 and twelve:
            x.f(1, ss[0])
            if ss[0]: x.f(1, ss[1])
        if (profile == 0) or (profile == 2 and twelve and ss == (1, 1)):
            x.f(2, csp)
    if not mono: x.f(1, sep_uv)
    x.f(1, film)
    return x.obu()

crafted = {
    'crafted-operating-points-decoder-model': sh(
        timing=(1001, 30000, None), decoder_model=(10, 90000, 24, 12), idd=1,
        ops=[(0x301, 12, 1, (400, 600, 1), 4), (0x101, 9, 0, None, None), (0x100, 5, 0, (17, 1000, 0), 10)]),
    'crafted-equal-picture-interval': sh(timing=(1, 90000, 2999), level=31, ops=[(0, 31, 1, None, None)]),
    'crafted-equal-picture-interval-zero': sh(timing=(1, 60, 0), idd=1, ops=[(0, 4, 0, None, 1)]),
    'crafted-frame-ids-forced-tools': sh(frame_ids=(14, 3), sct=(0, 1), imv=(0, 1), tools=0, wbits=16, hbits=16, w=65536, h=1),
    'crafted-no-screen-content-no-order-hint': sh(sct=(0, 0), order_hint=0, film=1, sep_uv=1, w=1, h=1, wbits=1, hbits=1),
    'crafted-mono-with-color': sh(mono=1, color=(1, 1, 1), full=1, hbd=1),
    'crafted-pro-12bit-420-colocated': sh(profile=2, hbd=1, twelve=1, ss=(1, 1), csp=2, color=(9, 16, 9)),
    'crafted-pro-12bit-444-signalled': sh(profile=2, hbd=1, twelve=1, ss=(0, 0)),
    'crafted-reduced-still-picture': sh(still=1, reduced=1, level=13, w=100, h=77, wbits=7, hbits=7),
}
TD = bytes([0x12, 0x00])
for name, obu in crafted.items():
    open(f'{tmp}/{name}.obu', 'wb').write(TD + obu)

def trace(path):
    err = subprocess.run(['ffmpeg', '-hide_banner', '-f', 'obu', '-i', path, '-c', 'copy', '-bsf:v', 'trace_headers',
                          '-frames:v', '1', '-f', 'null', '-'], capture_output=True, text=True).stderr
    lines = err.split('\n')
    start = next(i for i, l in enumerate(lines) if l.endswith('] Sequence Header'))
    fields, trailing = {}, None
    for l in lines[start + 1:]:
        m = re.search(r'\]\s+(\d+)\s+(\w+(?:\[\d+\])?)\s+[01]* = (-?\d+)$', l)
        if not m: break
        if m.group(2) == 'trailing_one_bit':
            trailing = int(m.group(1)); break
        fields[m.group(2)] = int(m.group(3))
    return fields, trailing

out = []
for f in sorted(os.listdir(tmp)):
    path = f'{tmp}/{f}'
    sh_obu = next(o for t, o in obus(open(path, 'rb').read()) if t == 1)
    fields, trailing = trace(path)
    i = 1  # the payload follows the 1-byte OBU header and obu_size
    while sh_obu[i] & 0x80: i += 1
    i += 1
    out.append({'name': f[:-4], 'obu': sh_obu.hex(), 'trace': fields, 'payloadBits': trailing - 8 * i})
json.dump(out, open('av1-sequence-headers.json', 'w'), indent=1)
PY
