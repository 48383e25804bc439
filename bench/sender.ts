/**
 * The media sender, a process of its own so its CPU is not counted as anyone's recording cost:
 * plays the bench capture, looped, as several independent live streams over UDP into mediasoup
 * PlainTransports (comedia, rtcp-mux), one transport per stream. Each stream is the capture with
 * its own SSRCs, shifted in time by its phase so keyframe bursts do not all land at once. RTCP
 * from mediasoup (PLIs, receiver reports) is read and ignored: a capture cannot make keyframes on
 * demand; its next one comes within 2 s.
 *
 * Messages: in `{ pause: { ms } }` (every stream stops sending for `ms`, then resumes at its next
 * keyframe, audio with it, timestamps having run on as a live source's do); out `{ started }`
 * (epoch ms of schedule time 0) and `{ resumed: { stream, epochMs } }`.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { startsKeyframe } from '../src/codec/keyframe-start.js';
import { ensureCapture, LAP_MS, lapPacket, laps } from './capture.js';
import type { SenderCommand, SenderEvent, SenderStream } from './protocol.js';

const [video, audio] = laps(ensureCapture());
/** Both streams' packets in one time order. */
const schedule = [video!, audio!]
  .flatMap((lap) => lap.packets.map((p, index) => ({ lap, index, offsetMs: p.offsetMs, keyframe: lap.kind === 'video' && startsKeyframe('video/H264', p.data) })))
  .sort((a, b) => a.offsetMs - b.offsetMs);

interface Cursor {
  stream: SenderStream;
  /** Next schedule entry and lap. */
  entry: number;
  lap: number;
  /** Schedule time (ms) from which this stream is silent until its next keyframe after `pauseMinEndMs`. */
  pauseFromMs: number;
  pauseMinEndMs: number;
}

const send = (message: SenderEvent): void => void process.send!(message);
const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
socket.bind(0, '127.0.0.1');
await once(socket, 'listening');
socket.on('message', () => undefined);

let cursors: Cursor[] = [];
let startMs = 0;
let timer: NodeJS.Timeout | undefined;

function dueMs(c: Cursor): number {
  return c.stream.phaseMs + c.lap * LAP_MS + schedule[c.entry]!.offsetMs;
}

/** Sends everything due, then sleeps until the next packet. */
function tick(): void {
  const now = performance.now() - startMs;
  let next = Infinity;
  cursors.forEach((c, i) => {
    for (let due = dueMs(c); due <= now; due = dueMs(c)) {
      const e = schedule[c.entry]!;
      if (due >= c.pauseFromMs) {
        if (due >= c.pauseMinEndMs && e.keyframe) {
          c.pauseFromMs = Infinity;
          send({ resumed: { stream: i, epochMs: performance.timeOrigin + startMs + due } });
        }
      }
      if (due < c.pauseFromMs) {
        const ssrc = e.lap.kind === 'video' ? c.stream.videoSsrc : c.stream.audioSsrc;
        socket.send(lapPacket(e.lap, e.index, c.lap, ssrc), c.stream.port, '127.0.0.1');
      }
      if (++c.entry === schedule.length) {
        c.entry = 0;
        c.lap++;
      }
    }
    next = Math.min(next, dueMs(c));
  });
  timer = setTimeout(tick, Math.max(0, next - (performance.now() - startMs)));
}

process.on('message', (command: SenderCommand) => {
  if ('streams' in command) {
    cursors = command.streams.map((stream) => ({ stream, entry: 0, lap: 0, pauseFromMs: Infinity, pauseMinEndMs: Infinity }));
    startMs = performance.now();
    send({ started: performance.timeOrigin + startMs });
    tick();
  } else {
    const now = performance.now() - startMs;
    for (const c of cursors) {
      c.pauseFromMs = now;
      c.pauseMinEndMs = now + command.pause.ms;
    }
  }
});
process.on('disconnect', () => {
  clearTimeout(timer);
  socket.close();
});
