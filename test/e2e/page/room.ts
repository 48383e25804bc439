/**
 * The room page: join with the camera and microphone (or, for the tests, with a picture and a
 * tone made in the page), leave, ask the server to record the room or stop, and list and play
 * the recordings. Bundled with esbuild by ../server.ts, served at /room; the tests drive it
 * through `window.room` (see room-api.ts) or its buttons.
 */
import { Device, types } from 'mediasoup-client';
import type { JoinResult, RecordingEntry, RoomApi, SyntheticMedia } from './room-api.js';

// The project's tsconfig has no DOM lib (see main.ts): the browser globals used here are untyped.
declare const document: any;
declare const navigator: any;
declare const location: { search: string };
declare const AudioContext: any;

const peer = new URLSearchParams(location.search).get('peer') ?? `guest-${Math.random().toString(36).slice(2, 7)}`;
const $ = (id: string): any => document.getElementById(id);

async function rpc<T>(method: string, body: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/rpc', { method: 'POST', body: JSON.stringify({ peer, method, ...body }) });
  if (!response.ok) throw new Error(`${method}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

let device: Device | undefined;
let joined: { transport: types.Transport; stop(): void } | undefined;

/** A canvas of one colour (a small white square moves along its top so frames differ) and a scheduled tone. */
async function synthetic(media: SyntheticMedia): Promise<{ stream: any; stop(): void; clockStepMs: number }> {
  const canvas = document.createElement('canvas');
  canvas.width = media.width;
  canvas.height = media.height;
  const g = canvas.getContext('2d');
  let frame = 0;
  const paint = (): void => {
    g.fillStyle = media.color;
    g.fillRect(0, 0, media.width, media.height);
    g.fillStyle = '#fff';
    g.fillRect((frame++ * 4) % media.width, 0, 12, 12);
  };
  paint();
  const timer = setInterval(paint, 1000 / media.frameRate);
  const audio = new AudioContext({ sampleRate: 48000 });
  const oscillator = audio.createOscillator();
  oscillator.frequency.value = media.toneHz;
  const gain = audio.createGain();
  gain.gain.value = 0;
  const destination = audio.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  await audio.resume();
  // Wall-clock s -> the context's time. currentTime moves in steps (one render callback each):
  // read both for 100 ms, the least difference is the one read right at a step.
  let zero = Infinity;
  let steps = 0;
  for (let t0 = performance.now(), last = audio.currentTime; performance.now() - t0 < 100; ) {
    const now = (performance.timeOrigin + performance.now()) / 1000;
    const time = audio.currentTime;
    if (time !== last) steps++;
    last = time;
    zero = Math.min(zero, now - time);
  }
  for (const tone of media.tones) {
    const at = tone.atMs / 1000 - zero;
    if (at + tone.durationMs / 1000 <= audio.currentTime) continue;
    gain.gain.setValueAtTime(tone.gain, Math.max(at, audio.currentTime));
    gain.gain.setValueAtTime(0, at + tone.durationMs / 1000);
  }
  const stream = canvas.captureStream(media.frameRate);
  stream.addTrack(destination.stream.getAudioTracks()[0]);
  return {
    stream,
    clockStepMs: 100 / Math.max(1, steps),
    stop: () => {
      clearInterval(timer);
      void audio.close();
    },
  };
}

async function join(media?: SyntheticMedia): Promise<JoinResult> {
  if (joined) throw new Error('already joined');
  const source = media
    ? await synthetic(media)
    : await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } }).then((stream: any) => ({
        stream,
        stop: () => stream.getTracks().forEach((t: any) => t.stop()),
        clockStepMs: NaN,
      }));
  if (!device) {
    device = new Device();
    await device.load({ routerRtpCapabilities: await rpc<types.RtpCapabilities>('capabilities') });
  }
  const transport = device.createSendTransport(await rpc<types.TransportOptions>('createTransport'));
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    rpc('connect', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
  });
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    rpc<{ id: string }>('produce', { transportId: transport.id, kind, rtpParameters }).then(callback, errback);
  });
  joined = { transport, stop: source.stop };
  const audio = await transport.produce({ track: source.stream.getAudioTracks()[0] });
  const video = await transport.produce({ track: source.stream.getVideoTracks()[0] });
  $('preview').srcObject = source.stream;
  return {
    audioProducerId: audio.id,
    videoProducerId: video.id,
    audioHeaderExtensions: (audio.rtpParameters.headerExtensions ?? []).map((e) => e.uri),
    videoCodec: video.rtpParameters.codecs[0]!.mimeType,
    clockStepMs: source.clockStepMs,
  };
}

async function leave(): Promise<void> {
  if (!joined) return;
  await rpc('leave');
  joined.transport.close();
  joined.stop();
  joined = undefined;
  $('preview').srcObject = null;
}

/** Fills the list of recordings: one entry per recording, each file playable in place. */
async function list(): Promise<void> {
  const recordings = await rpc<RecordingEntry[]>('recordings');
  const ul = $('recordings');
  ul.replaceChildren();
  for (const r of recordings) {
    const li = document.createElement('li');
    li.className = 'recording';
    li.append(`${r.name}: `);
    for (const f of r.files) {
      const link = document.createElement('a');
      link.href = f.url;
      link.textContent = `${f.path} (${(f.durationMs / 1000).toFixed(1)} s)`;
      const player = document.createElement(f.path.endsWith('.ogg') ? 'audio' : 'video');
      player.controls = true;
      player.preload = 'metadata';
      player.src = f.url;
      li.append(document.createElement('br'), link, player);
    }
    ul.append(li);
  }
}

/** A button's action, with its outcome in the status line. */
function button(id: string, action: () => Promise<string>): void {
  $(id).addEventListener('click', () => {
    $(id).disabled = true;
    action()
      .then((status) => ($('status').textContent = status))
      .catch((error: Error) => {
        $('status').textContent = `${id}: ${error.message}`;
        $(id).disabled = false;
      });
  });
}

button('join', async () => {
  await join();
  $('leave').disabled = false;
  return `joined as ${peer}`;
});
button('leave', async () => {
  await leave();
  $('join').disabled = false;
  return 'left';
});
button('record', async () => {
  const { name } = await rpc<{ name: string }>('record');
  $('stop').disabled = false;
  return `recording ${name}`;
});
button('stop', async () => {
  const { name } = await rpc<{ name: string }>('stop');
  $('record').disabled = false;
  await list();
  return `recorded ${name}`;
});
void list();
// A closed tab leaves the room.
(globalThis as any).addEventListener('pagehide', () => {
  if (joined) navigator.sendBeacon('/rpc', JSON.stringify({ peer, method: 'leave' }));
});

const api: RoomApi = { join, leave };
(globalThis as unknown as { room: RoomApi }).room = api;
