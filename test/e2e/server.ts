/**
 * The browser end-to-end tests' server: one mediasoup worker and router, and a node:http server
 * that serves the page (bundled with esbuild when the server starts), answers the page's
 * signalling as JSON over POST /rpc, and serves recorded files back to Chromium (with Range
 * support) so it can play them.
 *
 * Each page names itself (`?peer=<name>`); the test gets that peer's producers once each has sent
 * its first RTP packet, and records them through the library's public API.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';

const PAGE_DIR = new URL('./page/', import.meta.url).pathname;

/** opus, VP8 and H264 (packetization-mode 1, constrained baseline 3.1, as Chromium's OpenH264 sends). */
export const MEDIA_CODECS: types.RtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 },
  },
];

/** What a server built on this one adds (the room page, `npm run room`). */
export interface ServerOptions {
  /** Port to listen on; default any free one. */
  port?: number;
  /** Called with each producer as soon as it is created. */
  onProducer?: (peer: string, producer: types.Producer) => void;
  /** More signalling methods, by name (tried before the built-in ones). */
  rpc?: Record<string, (peer: string, body: any) => Promise<unknown>>;
}

export interface PeerProducers {
  audio: types.Producer;
  video: types.Producer;
}

export interface E2eServer {
  /** http://127.0.0.1:<port> */
  url: string;
  router: types.Router;
  /** Resolves once `peer` produces audio and video and both producers have sent an RTP packet. */
  flowing(peer: string): Promise<PeerProducers>;
  /** Serves `path` at the returned URL (same origin as the page). */
  serveFile(path: string): string;
  close(): Promise<void>;
}

interface Peer {
  transports: Map<string, types.WebRtcTransport>;
  producers: Partial<Record<'audio' | 'video', types.Producer>>;
  flowing: Promise<PeerProducers>;
  resolve(producers: PeerProducers): void;
  seen: Set<string>;
}

/** Resolves when the producer's first RTP packet reaches the router (trace event, then tracing off). */
function firstPacket(producer: types.Producer): Promise<void> {
  return new Promise((resolve) => {
    producer.on('trace', (trace) => {
      if (trace.type !== 'rtp') return;
      producer.removeAllListeners('trace');
      void producer.enableTraceEvent([]).catch(() => undefined);
      resolve();
    });
    void producer.enableTraceEvent(['rtp']);
  });
}

async function bundlePage(entry = 'main.ts'): Promise<string> {
  const result = await build({
    entryPoints: [`${PAGE_DIR}${entry}`],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome110',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export async function startServer(options: ServerOptions = {}): Promise<E2eServer> {
  const [bundle, roomBundle, worker] = await Promise.all([bundlePage(), bundlePage('room.ts'), mediasoup.createWorker({ logLevel: 'warn' })]);
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const html = readFileSync(`${PAGE_DIR}index.html`, 'utf8');
  const roomHtml = readFileSync(`${PAGE_DIR}room.html`, 'utf8');
  const peers = new Map<string, Peer>();
  const files = new Map<string, string>();

  const peer = (name: string): Peer => {
    let p = peers.get(name);
    if (!p) {
      let resolve!: (producers: PeerProducers) => void;
      const flowing = new Promise<PeerProducers>((r) => (resolve = r));
      p = { transports: new Map(), producers: {}, flowing, resolve, seen: new Set() };
      peers.set(name, p);
    }
    return p;
  };

  const rpc: Record<string, (p: Peer, body: any) => Promise<unknown>> = {
    capabilities: async () => router.rtpCapabilities,
    createTransport: async (p) => {
      const transport = await router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }], enableUdp: true, enableTcp: false });
      p.transports.set(transport.id, transport);
      const { id, iceParameters, iceCandidates, dtlsParameters } = transport;
      return { id, iceParameters, iceCandidates, dtlsParameters };
    },
    connect: async (p, body) => {
      await p.transports.get(body.transportId)!.connect({ dtlsParameters: body.dtlsParameters });
      return {};
    },
    produce: async (p, body) => {
      const kind = body.kind as 'audio' | 'video';
      const producer = await p.transports.get(body.transportId)!.produce({ kind, rtpParameters: body.rtpParameters });
      p.producers[kind] = producer;
      options.onProducer?.(String(body.peer), producer);
      void firstPacket(producer).then(() => {
        p.seen.add(kind);
        if (p.seen.size === 2) p.resolve(p.producers as PeerProducers);
      });
      return { id: producer.id };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/rpc') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const extra = options.rpc?.[body.method];
      const method = rpc[body.method];
      if (!extra && !method) throw new Error(`unknown method ${body.method}`);
      const result = extra ? await extra(String(body.peer), body) : await method!(peer(String(body.peer)), body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    } else if (url.pathname === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (url.pathname === '/room') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(roomHtml);
    } else if (url.pathname === '/room.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(roomBundle);
    } else if (url.pathname.startsWith('/media/') && files.has(url.pathname)) {
      serveRange(req, res, files.get(url.pathname)!);
    } else {
      res.writeHead(404).end();
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error.message);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    router,
    flowing: (name) => peer(name).flowing,
    serveFile: (path) => {
      const route = `/media/${files.size}-${path.split('/').pop()}`;
      files.set(route, path);
      return `${url}${route}`;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      worker.close();
    },
  };
}

const CONTENT_TYPES: Record<string, string> = { mp4: 'video/mp4', webm: 'video/webm', mkv: 'video/x-matroska', ogg: 'audio/ogg' };

/** A file with `Range: bytes=a-b` support, as a media element asks for it. */
function serveRange(req: IncomingMessage, res: ServerResponse, path: string): void {
  const size = statSync(path).size;
  const type = CONTENT_TYPES[path.split('.').pop()!] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (!range) {
    res.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes' });
    createReadStream(path).pipe(res);
    return;
  }
  const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
  const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  if (start >= size || start > end) {
    res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    return;
  }
  res.writeHead(206, {
    'content-type': type,
    'content-length': end - start + 1,
    'content-range': `bytes ${start}-${end}/${size}`,
    'accept-ranges': 'bytes',
  });
  createReadStream(path, { start, end }).pipe(res);
}
