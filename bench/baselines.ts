/**
 * The baselines as the mediasoup community builds them (mediasoup3-record-demo, the Rust recorder
 * of reference 001): per recording two PlainTransports (rtcpMux off, comedia off) sending audio and
 * video to four 127.0.0.1 ports, consumers created paused with the router's codec, a process per
 * recording, consumers resumed once it listens, plus a keyframe request.
 *
 * - ffmpeg: an SDP file, `ffmpeg -protocol_whitelist file,udp,rtp -i x.sdp -c copy out.mp4`,
 *   stopped with `q` on stdin.
 * - GStreamer: `gst-launch-1.0 -e` with rtpbin (latency=50 buffer-mode=0, RTCP both ways, as the
 *   demo's GStreamer variant) -> depayloader -> parser -> mp4mux -> filesink, stopped with SIGINT
 *   (-e turns it into EOS, so mp4mux writes its index). The demo re-encodes Opus for webmmux; here
 *   Opus is parsed and muxed as is, like ffmpeg's -c copy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import type { types } from 'mediasoup';
import type { ImpairmentProfile } from '../test/helpers/impairer.js';
import type { DecodableFrames } from '../test/helpers/decodable-frames.js';
import { ImpairedUdpLink } from './impaired.js';
import { boundUdpPorts } from './proc.js';

export type Baseline = 'ffmpeg' | 'gstreamer';

/** A running recording, whatever records it. */
export interface Recording {
  output: string;
  /** Epoch ms when the recording was asked for. */
  requestedAtMs: number;
  /** The recorder's own process, when it has one per recording. */
  pid?: number;
  /** What a perfect receiver could decode of the video that got through the impairment on its path, if any (after stop()). */
  oracle(): DecodableFrames | undefined;
  /** Stops it; `ok` false when it had to be killed or failed. */
  stop(): Promise<{ ok: boolean; detail: string }>;
}

/** Waits for UDP ports to be bound by someone (the recorder process), with one /proc read per round for all waiters. */
const portWaiters = new Set<{ ports: number[]; resolve: () => void }>();
let portTimer: NodeJS.Timeout | undefined;
function waitForPorts(ports: number[], child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const waiter = {
      ports,
      resolve: () => {
        clearTimeout(timeout);
        resolve();
      },
    };
    const timeout = setTimeout(() => {
      portWaiters.delete(waiter);
      reject(new Error(`ports ${ports.join(',')} not bound after ${timeoutMs} ms (exit code ${child.exitCode})`));
    }, timeoutMs);
    portWaiters.add(waiter);
    portTimer ??= setInterval(() => {
      const bound = boundUdpPorts();
      for (const w of portWaiters) {
        if (w.ports.every((p) => bound.has(p))) {
          portWaiters.delete(w);
          w.resolve();
        }
      }
      if (portWaiters.size === 0) {
        clearInterval(portTimer);
        portTimer = undefined;
      }
    }, 50);
  });
}

interface Leg {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  link: ImpairedUdpLink | undefined;
  /** The recorder's ports for this stream. */
  rtpPort: number;
  rtcpPort: number;
}

/** A PlainTransport + paused consumer sending `producer` to rtpPort/rtcpPort (RTP through an impaired link if `profile`). */
async function leg(router: types.Router, producer: types.Producer, rtpPort: number, profile: ImpairmentProfile | undefined): Promise<Leg> {
  const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
  const link = profile ? await ImpairedUdpLink.create(rtpPort, profile) : undefined;
  await transport.connect({ ip: '127.0.0.1', port: link?.port ?? rtpPort, rtcpPort: rtpPort + 1 });
  const codec = router.rtpCapabilities.codecs!.find((c) => c.kind === producer.kind)!;
  const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: { codecs: [codec] }, paused: true });
  return { transport, consumer, link, rtpPort, rtcpPort: rtpPort + 1 };
}

function sdpFor(video: Leg, audio: Leg): string {
  const media = (kind: string, l: Leg): string[] => {
    const c = l.consumer.rtpParameters.codecs[0]!;
    const name = c.mimeType.split('/')[1];
    const fmtp = Object.entries(c.parameters ?? {}).map(([k, v]) => `${k}=${v}`).join(';');
    return [
      `m=${kind} ${l.rtpPort} RTP/AVP ${c.payloadType}`,
      `a=rtcp:${l.rtcpPort}`,
      `a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`,
      ...(fmtp ? [`a=fmtp:${c.payloadType} ${fmtp}`] : []),
      'a=sendonly',
    ];
  };
  return ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=FFmpeg', 'c=IN IP4 127.0.0.1', 't=0 0', ...media('video', video), ...media('audio', audio), ''].join('\n');
}

function gstArgs(video: Leg, audio: Leg, output: string): string[] {
  const caps = (kind: string, l: Leg, name: string): string => {
    const c = l.consumer.rtpParameters.codecs[0]!;
    return `caps=application/x-rtp,media=(string)${kind},clock-rate=(int)${c.clockRate},payload=(int)${c.payloadType},encoding-name=(string)${name},ssrc=(uint)${l.consumer.rtpParameters.encodings![0]!.ssrc}`;
  };
  const rtcp = (l: Leg, session: number): string[] => [
    'udpsrc', 'address=127.0.0.1', `port=${l.rtcpPort}`, '!', `rtpbin.recv_rtcp_sink_${session}`,
    `rtpbin.send_rtcp_src_${session}`, '!', 'udpsink', 'host=127.0.0.1', `port=${l.transport.rtcpTuple!.localPort}`,
    'bind-address=127.0.0.1', `bind-port=${l.rtcpPort}`, 'sync=false', 'async=false',
  ];
  return [
    '-e', 'rtpbin', 'name=rtpbin', 'latency=50', 'buffer-mode=0',
    'udpsrc', `port=${video.rtpPort}`, caps('video', video, 'H264'), '!', 'rtpbin.recv_rtp_sink_0',
    'rtpbin.', '!', 'queue', '!', 'rtph264depay', '!', 'h264parse', '!', 'mux.',
    'udpsrc', `port=${audio.rtpPort}`, caps('audio', audio, 'OPUS'), '!', 'rtpbin.recv_rtp_sink_1',
    'rtpbin.', '!', 'queue', '!', 'rtpopusdepay', '!', 'opusparse', '!', 'mux.',
    'mp4mux', 'name=mux', '!', 'filesink', `location=${output}`,
    ...rtcp(video, 0), ...rtcp(audio, 1),
  ];
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Starts one baseline recording of `producers` ([video, audio]) into `output` (an .mp4) on
 * recorder ports base..base+3 (audio RTP/RTCP, video RTP/RTCP as in reference 001).
 */
export async function startBaseline(
  kind: Baseline,
  router: types.Router,
  producers: types.Producer[],
  output: string,
  base: number,
  profile: ImpairmentProfile | undefined,
): Promise<Recording> {
  const requestedAtMs = performance.timeOrigin + performance.now();
  const [videoProducer, audioProducer] = producers as [types.Producer, types.Producer];
  const audio = await leg(router, audioProducer, base, profile);
  const video = await leg(router, videoProducer, base + 2, profile);
  const log = openSync(`${output}.log`, 'w');
  let child: ChildProcess;
  if (kind === 'ffmpeg') {
    writeFileSync(`${output}.sdp`, sdpFor(video, audio));
    child = spawn('ffmpeg', ['-protocol_whitelist', 'file,udp,rtp', '-i', `${output}.sdp`, '-c', 'copy', output], { stdio: ['pipe', 'ignore', log] });
  } else {
    child = spawn('gst-launch-1.0', gstArgs(video, audio, output), { stdio: ['ignore', log, log] });
  }
  closeSync(log);
  child.stdin?.on('error', () => undefined); // 'q' to an ffmpeg that already quit
  const closeLegs = (): void => [audio, video].forEach((l) => (l.transport.close(), l.link?.close()));
  try {
    await waitForPorts([base, base + 1, base + 2, base + 3], child);
    for (const l of [audio, video]) await l.consumer.resume();
    await video.consumer.requestKeyFrame();
  } catch (error) {
    child.kill('SIGKILL');
    closeLegs();
    throw error;
  }
  return {
    output,
    requestedAtMs,
    pid: child.pid,
    oracle: () => video.link?.impairers.oracle(video.consumer.rtpParameters.encodings![0]!.ssrc!),
    stop: async () => {
      const done = exited(child);
      if (child.exitCode === null) {
        if (kind === 'ffmpeg') child.stdin!.end('q');
        else child.kill('SIGINT');
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await done;
      clearTimeout(killer);
      closeLegs();
      return { ok: code === 0, detail: code === 0 ? 'exited 0' : `exit code ${code} signal ${child.signalCode}` };
    },
  };
}
