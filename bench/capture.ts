/**
 * The bench's input: 20 s of 1280x720 30 fps H264 at 1.5 Mbps (constrained baseline, keyframe every
 * 2 s, SPS/PPS before every IDR) + Opus 48 kHz stereo 64 kbps in 20 ms packets, packetized by
 * GStreamer (rtph264pay, rtpopuspay) and captured in real time by fixtures/capture-rtp.ts, the way
 * fixtures/make-fixtures.sh makes the committed fixtures. Made once into bench/.cache/ (several MB,
 * not committed). The picture is moving test bars with noise (so the encoder needs the whole 1.5
 * Mbps and every frame differs), a white frame every whole second and a 50 ms 1 kHz beep at every
 * whole second over quiet noise: the flash/beep pairs measure A/V offset; the per-picture checksums
 * of the encoder's decode say which source frame a recorded picture is, and whether it decoded intact.
 *
 * A lap is exactly 600 frames and 1000 audio packets (20.000 s of both), so laps join seamlessly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadCaptureFiles, type CapturedStream } from '../src/source/capture.js';
import { readPcapFile, writePcap } from '../src/source/pcap.js';

const CACHE = new URL('./.cache/', import.meta.url).pathname;
const REPO = new URL('../', import.meta.url).pathname;
/** Bumped when the recipe below changes, so a stale cache is remade. */
const RECIPE = 'v2';
const NAME = `h264-720p-1500k-opus-${RECIPE}`;
export const FPS = 30;
export const LAP_FRAMES = 600;
const LAP_AUDIO_PACKETS = 1000;
export const LAP_MS = 20_000;
const ENCODE_SECONDS = 21; // a second more than a lap: the live capture may miss the last frames
const HOST = '127.0.0.1';
// Not the fixtures' ports (5004/5006), so both can be made at once.
const VIDEO_PORT = 5204;
const AUDIO_PORT = 5206;
const VIDEO_PT = 96;
const AUDIO_PT = 111;
const VIDEO_SSRC = 1111111111;
const AUDIO_SSRC = 2222222222;
const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf';

export interface BenchCapture {
  pcap: string;
  sdp: string;
  /** Annex B elementary stream of the encode (for the offline remux ceiling). */
  h264: string;
  /** Ogg Opus of the encode. */
  ogg: string;
  /** Adler-32 (ffmpeg framecrc) of each decoded source picture of a lap, in frame order: tells a recorded picture's source frame, and whether it decoded intact. */
  frameCrc: string[];
  video: CapturedStream;
  audio: CapturedStream;
}

/** One lap of a stream: its packets, time from the lap's first packet (ms), and the counter shifts per lap. */
export interface Lap {
  kind: 'video' | 'audio';
  packets: { data: Buffer; offsetMs: number }[];
  /** RTP timestamp and sequence number advance per lap. */
  timestampStep: number;
  sequenceStep: number;
}

function run(command: string, args: string[], cwd = CACHE): void {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${command} ${args.slice(0, 6).join(' ')}... failed (${r.status}):\n${r.stderr || r.stdout}`);
}

/** Makes the capture unless the cache holds it; `log` hears what takes time. */
export function ensureCapture(log: (line: string) => void = () => undefined): BenchCapture {
  const dir = `${CACHE}${NAME}/`;
  if (!existsSync(`${dir}done`)) {
    log(`bench capture: making ${dir} (about 40 s: encode, then a real-time capture)`);
    rmSync(dir, { recursive: true, force: true });
    const work = `${dir}work/`;
    mkdirSync(work, { recursive: true });
    make(dir, work);
    rmSync(work, { recursive: true, force: true });
    writeFileSync(`${dir}done`, `${new Date().toISOString()}\n`);
  }
  const capture = loadCaptureFiles(`${dir}capture.pcap`, `${dir}capture.sdp`);
  const video = capture.streams.find((s) => s.kind === 'video');
  const audio = capture.streams.find((s) => s.kind === 'audio');
  if (!video || !audio) throw new Error(`${dir}: the capture lacks a stream; delete the directory to remake it`);
  return {
    pcap: `${dir}capture.pcap`,
    sdp: `${dir}capture.sdp`,
    h264: `${dir}video.h264`,
    ogg: `${dir}audio.ogg`,
    frameCrc: JSON.parse(readFileSync(`${dir}frames.json`, 'utf8')) as string[],
    video,
    audio,
  };
}

function make(dir: string, work: string): void {
  const picture =
    `noise=alls=10:allf=t,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(mod(n\\,${FPS})\\,0)',` +
    `drawtext=fontfile=${FONT}:text='%{frame_num}':x=(w-tw)/2:y=h-th-24:fontsize=96:fontcolor=yellow:box=1:boxcolor=black@0.8`;
  run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS}:duration=${ENCODE_SECONDS}`, '-vf', picture,
    '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    '-b:v', '1500k', '-maxrate', '1500k', '-bufsize', '1500k', '-g', String(2 * FPS), '-keyint_min', String(2 * FPS), '-sc_threshold', '0',
    '-x264-params', 'repeat-headers=1:scenecut=0:open-gop=0', '-f', 'h264', `${dir}video.h264`,
  ]);
  // Beep as in the fixtures, over noise 30 dB down so every Opus packet carries sound.
  const sound = `if(lt(mod(t\\,1)\\,0.05)\\,0.5*sin(2*PI*1000*t)\\,0)+0.015*(random(0)-0.5)`;
  run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=exprs='${sound}|${sound}':sample_rate=48000:duration=${ENCODE_SECONDS}`,
    '-c:a', 'libopus', '-b:a', '64k', '-frame_duration', '20', '-application', 'audio', '-f', 'ogg', `${dir}audio.ogg`,
  ]);
  // As make-fixtures.sh: no edit list for Opus, and 90 kHz video timestamps one tick late so
  // GStreamer's ns rounding gives exact 3000-tick RTP timestamp steps.
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', `${dir}audio.ogg`, '-c', 'copy', '-use_editlist', '0', `${work}audio.mp4`]);
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-r', String(FPS), '-i', `${dir}video.h264`, '-c', 'copy', '-video_track_timescale', '90000', '-use_editlist', '0', `${work}plain.mp4`]);
  run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', `${work}plain.mp4`, '-c', 'copy', '-bsf:v', 'setts=pts=PTS+1', '-video_track_timescale', '90000', '-use_editlist', '0', `${work}video.mp4`]);
  run(
    'npx',
    [
      'tsx', 'fixtures/capture-rtp.ts', 'capture', '--out', `${work}capture.pcap`, '--host', HOST,
      '--video-port', String(VIDEO_PORT), '--audio-port', String(AUDIO_PORT), '--',
      'gst-launch-1.0', '-q',
      'filesrc', `location=${work}video.mp4`, '!', 'qtdemux', '!', 'h264parse', '!',
      'rtph264pay', `pt=${VIDEO_PT}`, `ssrc=${VIDEO_SSRC}`, 'mtu=1184', 'aggregate-mode=zero-latency', 'config-interval=0', '!',
      'udpsink', `host=${HOST}`, `port=${VIDEO_PORT}`, 'bind-port=5214', 'sync=true',
      'filesrc', `location=${work}audio.mp4`, '!', 'qtdemux', '!', 'opusparse', '!',
      'rtpopuspay', `pt=${AUDIO_PT}`, `ssrc=${AUDIO_SSRC}`, '!',
      'udpsink', `host=${HOST}`, `port=${AUDIO_PORT}`, 'bind-port=5216', 'sync=true',
    ],
    REPO,
  );
  writeFileSync(`${dir}capture.sdp`, sdp());
  trimToLap(`${work}capture.pcap`, `${dir}capture.pcap`);
  const crc = execFileSync('ffmpeg', ['-v', 'error', '-i', `${dir}video.h264`, '-frames:v', String(LAP_FRAMES), '-f', 'framecrc', '-'], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
  if (crc.length !== LAP_FRAMES || new Set(crc).size !== LAP_FRAMES) throw new Error(`bench capture: ${crc.length} frames, ${new Set(crc).size} distinct; every frame must differ`);
  writeFileSync(`${dir}frames.json`, JSON.stringify(crc));
}

function sdp(): string {
  const ext = ['a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid'];
  return [
    'v=0', `o=- 1 1 IN IP4 ${HOST}`, 's=mediasoup-recorder bench', `c=IN IP4 ${HOST}`, 't=0 0',
    `m=video ${VIDEO_PORT} RTP/AVP ${VIDEO_PT}`, 'a=mid:0', 'a=sendonly', `a=rtpmap:${VIDEO_PT} H264/90000`,
    `a=fmtp:${VIDEO_PT} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`, ...ext,
    `m=audio ${AUDIO_PORT} RTP/AVP ${AUDIO_PT}`, 'a=mid:1', 'a=sendonly', `a=rtpmap:${AUDIO_PT} opus/48000/2`,
    `a=fmtp:${AUDIO_PT} minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1`, 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', ...ext,
    '',
  ].join('\r\n');
}

/**
 * Keeps exactly one lap: video frames 0-599 (the first is a keyframe: the payloader starts at the
 * encode's first IDR) and audio packets 0-999, and checks the capture lost nothing.
 */
function trimToLap(pcapIn: string, pcapOut: string): void {
  const { records } = readPcapFile(pcapIn);
  const streams = [
    { port: VIDEO_PORT, unit: 90_000 / FPS, limit: LAP_FRAMES },
    { port: AUDIO_PORT, unit: 960, limit: LAP_AUDIO_PACKETS },
  ].map((s) => ({ ...s, first: undefined as Buffer | undefined, last: undefined as Buffer | undefined, units: 0 }));
  const kept = records.filter((record) => {
    const s = streams.find((x) => x.port === record.dstPort);
    if (!s) return false;
    const data = record.payload;
    if (s.last && data.readUInt16BE(2) !== ((s.last.readUInt16BE(2) + 1) & 0xffff)) throw new Error(`bench capture: packet lost or reordered on port ${s.port}; remake it`);
    s.first ??= data;
    s.last = data;
    const index = ((data.readUInt32BE(4) - s.first.readUInt32BE(4)) >>> 0) / s.unit;
    if (index >= s.limit) return false;
    s.units = index + 1;
    return true;
  });
  for (const s of streams) if (s.units !== s.limit) throw new Error(`bench capture: port ${s.port} has ${s.units} of the ${s.limit} units a lap needs`);
  writeFileSync(pcapOut, writePcap(kept));
}

/** A stream's lap: its packets with their times relative to the lap's start (both streams' first packet). */
export function laps(capture: BenchCapture): Lap[] {
  const t0 = Math.min(capture.video.packets[0]!.timeMs, capture.audio.packets[0]!.timeMs);
  return [capture.video, capture.audio].map((stream) => ({
    kind: stream.kind,
    packets: stream.packets.map((p) => ({ data: p.data, offsetMs: p.timeMs - t0 })),
    timestampStep: (LAP_MS * stream.clockRate) / 1000,
    sequenceStep: stream.packets.length,
  }));
}

/** A copy of a lap's packet moved `k` laps on (sequence numbers and timestamps continue), with `ssrc`. */
export function lapPacket(lap: Lap, index: number, k: number, ssrc: number): Buffer {
  return shiftPacket(lap.packets[index]!.data, lap, k, ssrc);
}

/** A copy of `packet` (of `lap`'s stream) moved `k` laps on, with `ssrc`. */
export function shiftPacket(packet: Buffer, lap: Lap, k: number, ssrc: number): Buffer {
  const copy = Buffer.from(packet);
  copy.writeUInt16BE((copy.readUInt16BE(2) + k * lap.sequenceStep) & 0xffff, 2);
  copy.writeUInt32BE((copy.readUInt32BE(4) + k * lap.timestampStep) >>> 0, 4);
  copy.writeUInt32BE(ssrc, 8);
  return copy;
}
