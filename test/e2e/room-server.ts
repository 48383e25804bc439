/**
 * `npm run room`: a room to try RoomRecorder in. The e2e server (./server.ts) serves the room
 * page (page/room.html) at /room; each tab joins as a participant; Record asks this server to
 * record the room with RoomRecorder (every participant's producers, as they come and go, a
 * speaker view and the mix); Stop ends it and the page lists the
 * recordings, each file playable. Also used by the room e2e test.
 *
 *   npm run room            # http://127.0.0.1:3000/room, recordings in ./recordings/
 *   PORT=8080 RECORDINGS=/tmp/rec npm run room
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { types } from 'mediasoup';
import { RoomRecorder, type RoomManifest } from '../../src/index.js';
import type { RecordingEntry } from './page/room-api.js';
import { startServer, type E2eServer } from './server.js';

export interface RoomServer {
  server: E2eServer;
  /** The room page's address. */
  pageUrl: string;
  /** Called with every producer as it is created (after the room, when recording, has it). */
  onProducer?: (peer: string, producer: types.Producer) => void;
  /** The recording in progress, if any. */
  readonly recorder: RoomRecorder | undefined;
  /** Starts recording the room into `<directory>/<name>` (Record). */
  record(): Promise<{ name: string; recorder: RoomRecorder }>;
  /** Ends the recording in progress (Stop). */
  stop(): Promise<{ name: string; manifest: RoomManifest }>;
  /** Closes `peer`'s producers: the participant leaves the room. */
  leave(peer: string): void;
  close(): Promise<void>;
}

export async function startRoomServer({ directory, port }: { directory: string; port?: number }): Promise<RoomServer> {
  const live = new Map<string, Set<types.Producer>>();
  let recording: { name: string; recorder: RoomRecorder } | undefined;
  const urls = new Map<string, string>();
  const self: RoomServer = {} as RoomServer;

  const addToRoom = (peer: string, producer: types.Producer): void => {
    try {
      recording?.recorder.addProducer(producer, { participant: peer });
    } catch (error) {
      console.error(`room: ${peer}'s ${producer.kind}: ${(error as Error).message}`);
    }
  };

  const recordings = (): RecordingEntry[] =>
    existsSync(directory)
      ? readdirSync(directory)
          .filter((name) => existsSync(join(directory, name, 'manifest.json')))
          .sort()
          .map((name) => {
            const manifest = JSON.parse(readFileSync(join(directory, name, 'manifest.json'), 'utf8')) as RoomManifest;
            return {
              name,
              files: manifest.files.map((f) => {
                const path = join(directory, name, f.path);
                if (!urls.has(path)) urls.set(path, server.serveFile(path));
                return { path: f.path, kind: f.kind, url: urls.get(path)!, durationMs: f.durationMs };
              }),
            };
          })
      : [];

  const server = await startServer({
    port,
    onProducer: (peer, producer) => {
      const producers = live.get(peer) ?? new Set();
      live.set(peer, producers);
      producers.add(producer);
      producer.observer.once('close', () => producers.delete(producer));
      addToRoom(peer, producer);
      self.onProducer?.(peer, producer);
    },
    rpc: {
      record: async () => ({ name: (await self.record()).name }),
      stop: async () => ({ name: (await self.stop()).name }),
      recordings: async () => recordings(),
      leave: async (peer) => {
        self.leave(peer);
        return {};
      },
    },
  });
  // A tab closed or gone: its transport's DTLS closes (or ICE stops), which ends its producers, so the participant leaves.
  server.router.observer.on('newtransport', (transport) => {
    const webRtc = transport as types.WebRtcTransport;
    webRtc.on('dtlsstatechange', (state) => (state === 'closed' || state === 'failed') && webRtc.close());
    webRtc.on('icestatechange', (state) => state === 'disconnected' && webRtc.close());
  });

  return Object.assign(self, {
    server,
    pageUrl: `${server.url}/room`,
    get recorder() {
      return recording?.recorder;
    },
    record: async () => {
      if (recording) throw new Error(`already recording ${recording.name}`);
      const name = new Date().toISOString().replace(/[:.]/g, '-');
      const recorder = new RoomRecorder({ router: server.router, directory: join(directory, name), container: 'webm', speakerView: true, mix: true });
      recorder.on('error', (error) => console.error(`room ${name}: ${error.message}`));
      recording = { name, recorder };
      await recorder.start();
      for (const [peer, producers] of live) for (const producer of producers) addToRoom(peer, producer);
      return recording;
    },
    stop: async () => {
      if (!recording) throw new Error('not recording');
      const { name, recorder } = recording;
      recording = undefined;
      return { name, manifest: await recorder.stop() };
    },
    leave: (peer: string) => {
      for (const producer of [...(live.get(peer) ?? [])]) producer.close();
    },
    close: async () => {
      await recording?.recorder.stop();
      await server.close();
    },
  });
}

if (process.argv[1] && resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  const directory = resolve(process.env.RECORDINGS ?? 'recordings');
  const room = await startRoomServer({ directory, port: Number(process.env.PORT ?? 3000) });
  console.log(`room: open ${room.pageUrl} in two tabs, join in each, press Record, then Stop (recordings in ${directory})`);
  process.on('SIGINT', () => void room.close().then(() => process.exit(0)));
}
