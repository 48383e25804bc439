/**
 * RTP over UDP: a real mediasoup PlainTransport (rtcp-mux) sends the replayed fixture to the
 * recorder's RtpUdpEndpoint, which answers with RTCP (receiver reports, NACK, PLI). One socket
 * carries several recordings at once, told apart by SSRC; comedia works too (the recorder's first
 * RTCP packet tells mediasoup where to send). A forger on another socket injecting RTP with the
 * recorded SSRC is counted and never answered; over SRTP (libsrtp in mediasoup on the other end)
 * packets that do not authenticate are counted drops. Files are checked with ffmpeg and ffprobe.
 */
import { join } from 'node:path';
import type { types } from 'mediasoup';
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder, RtpUdpEndpoint, sendToRecorder, type RecorderSummary, type UdpStream } from '../src/index.js';
import { ffmpegDecodeErrors, ffprobeStreams, tempDir } from './helpers/oracles.js';
import { h264OpusFixture, replayRig } from './helpers/replay.js';
import { rtpForger } from './helpers/rtp-forger.js';
import { tamperingRelay } from './helpers/tampering-relay.js';

const { capture, truth } = h264OpusFixture();
const dir = tempDir('udp-');
const frames = (file: string, type: 'video' | 'audio'): number => Number(ffprobeStreams(file).streams.find((s) => s.codec_type === type)!.nb_read_frames);
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

async function rig() {
  const r = await replayRig(capture);
  const endpoint = await RtpUdpEndpoint.bind();
  closers.push(() => r.close(), () => endpoint.close());
  return { ...r, endpoint };
}

/** Records the rig's producers over UDP into `name`, returns the recorder and the link. */
async function recordOverUdp(router: types.Router, producers: types.Producer[], endpoint: RtpUdpEndpoint, name: string, comedia = false, bound = comedia, to = endpoint.local, enableSrtp = false) {
  const link = await sendToRecorder(router, producers, to, { comedia, enableSrtp });
  const output = join(dir, name);
  const recorder = new Recorder({ source: endpoint.source(link.streams, { remote: bound ? link.remote : undefined }), output });
  await recorder.start();
  await link.resume();
  return { recorder, link, output };
}

/** A forger on another socket of this host, sending RTP with the link's recorded video SSRC. */
async function videoForger(link: { streams: UdpStream[] }, endpoint: RtpUdpEndpoint, seed: number) {
  const video = link.streams.find((s) => s.label.startsWith('video'))!.rtpParameters;
  const forger = await rtpForger(endpoint.local, video.encodings![0]!.ssrc!, video.codecs[0]!.payloadType, seed);
  closers.push(() => forger.close());
  return forger;
}

function expectWholeFixture(summary: RecorderSummary, output: string): void {
  expect(summary.streams.map((s) => [s.kind, s.framesWritten])).toEqual([
    ['video', truth.video.encoded.frames],
    ['audio', truth.audio.encoded.packets],
  ]);
  expect(ffmpegDecodeErrors(output)).toBe('');
  expect(frames(output, 'video')).toBe(truth.video.encoded.frames);
  expect(frames(output, 'audio')).toBe(truth.audio.encoded.packets);
}

describe('recording RTP over UDP from a PlainTransport', () => {
  it('records the fixture whole, with receiver reports and sender reports exchanged', async () => {
    const { router, replayer, endpoint } = await rig();
    const { recorder, link, output } = await recordOverUdp(router, replayer.producers, endpoint, 'plain.mp4');
    await replayer.play({ speed: 2 });
    await new Promise((r) => setTimeout(r, 1200)); // a receiver report interval, and the last packets
    const [consumerStats] = await link.consumers[0]!.getStats();
    const summary = await recorder.stop();
    expectWholeFixture(summary, output);
    // mediasoup read our RTCP: the round trip it measures from our reports' echo of its SRs, and our PLI at start.
    expect(consumerStats!.roundTripTime).toBeGreaterThan(0);
    expect(consumerStats!.pliCount).toBeGreaterThanOrEqual(1);
    expect(endpoint.stats.rtcpPackets).toBeGreaterThan(0); // mediasoup's sender reports
    expect(endpoint.stats.rtcpSent).toBeGreaterThan(0);
    expect(endpoint.stats.errors).toBe(0);
  });

  it('carries two recordings on one socket, by SSRC, and counts packets nobody claimed', async () => {
    const { router, replayer, endpoint } = await rig();
    const a = await recordOverUdp(router, replayer.producers, endpoint, 'a.mp4');
    const b = await recordOverUdp(router, replayer.producers, endpoint, 'b.mkv');
    const play = replayer.play({ speed: 2 });
    await new Promise((r) => setTimeout(r, 3000));
    // A third link whose recorder never claims its SSRCs: counted, not recorded, not thrown.
    const stray = await sendToRecorder(router, replayer.producers, endpoint.local);
    await stray.resume();
    await play;
    await new Promise((r) => setTimeout(r, 300));
    const [sa, sb] = await Promise.all([a.recorder.stop(), b.recorder.stop()]);
    expectWholeFixture(sa, a.output);
    expectWholeFixture(sb, b.output);
    expect(endpoint.stats.unknownSsrc).toBeGreaterThan(0);
  });

  it('works with comedia: mediasoup learns the recorder from its first RTCP packet', async () => {
    const { router, replayer, endpoint } = await rig();
    const { recorder, output } = await recordOverUdp(router, replayer.producers, endpoint, 'comedia.mkv', true);
    await replayer.play({ speed: 2 });
    await new Promise((r) => setTimeout(r, 300));
    expectWholeFixture(await recorder.stop(), output);
  });

  for (const bound of [true, false]) {
    it(`keeps the recording whole while another socket injects RTP with the recorded SSRC (${bound ? 'bound to link.remote' : 'no remote: the first sender latched'})`, async () => {
      const { router, replayer, endpoint } = await rig();
      const { recorder, link, output } = await recordOverUdp(router, replayer.producers, endpoint, `injected-${bound}.mp4`, false, bound);
      const forger = await videoForger(link, endpoint, bound ? 1 : 2);
      const play = replayer.play({ speed: 2 });
      // The real sender speaks first (latching needs one packet), then the forger floods the whole session.
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all([play, forger.flood(1000, 8)]);
      await new Promise((r) => setTimeout(r, 1200)); // a receiver report interval: any RTCP to the forger would be out
      const summary = await recorder.stop();
      expectWholeFixture(summary, output);
      expect(summary.streams[0]!.packetsLost).toBe(0);
      expect(endpoint.stats.wrongSender).toBe(forger.sent);
      expect(forger.received).toBe(0);
      expect(endpoint.stats.rtcpSent).toBeGreaterThan(0); // the real sender is still answered
    });
  }

  for (const srtpCryptoSuite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`records over SRTP (${srtpCryptoSuite}), latching the first sender that authenticates`, async () => {
      const { router, replayer, endpoint } = await rig();
      const link = await sendToRecorder(router, replayer.producers, endpoint.local, { enableSrtp: true, srtpCryptoSuite });
      expect(link.streams.every((s) => s.srtp?.sender.cryptoSuite === srtpCryptoSuite)).toBe(true);
      const output = join(dir, `srtp-${srtpCryptoSuite}.mkv`);
      const recorder = new Recorder({ source: endpoint.source(link.streams), output });
      await recorder.start();
      const forger = await videoForger(link, endpoint, 3);
      // Before the real sender: forged packets do not authenticate, so the forger is not latched.
      await forger.flood(50, 2);
      expect(endpoint.stats.srtpUnauthenticated).toBe(50);
      await link.resume();
      // mediasoup's round trip from our receiver reports, sampled through the recording: each RR
      // replaces it, worked out on mediasoup's clock truncated to ms, so on loopback (a round trip
      // well under 1 ms) one RR can make it 0 (RtpStreamSend::ReceiveRtcpReceiverReport, 3.8.4).
      let roundTripMs = 0;
      const sampler = setInterval(() => void link.consumers[0]!.getStats().then(([s]) => (roundTripMs = Math.max(roundTripMs, s?.roundTripTime ?? 0))), 500);
      closers.push(() => clearInterval(sampler));
      const play = replayer.play({ speed: 2 });
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all([play, forger.flood(200, 20)]);
      await new Promise((r) => setTimeout(r, 1200));
      clearInterval(sampler);
      const [consumerStats] = await link.consumers[0]!.getStats();
      const summary = await recorder.stop();
      expectWholeFixture(summary, output);
      expect(endpoint.stats.srtpUnauthenticated).toBe(50);
      expect(endpoint.stats.srtpReplayed).toBe(0); // no loss here, so no retransmission repeats a packet
      expect(endpoint.stats.wrongSender).toBe(200);
      expect(forger.received).toBe(0);
      // mediasoup (libsrtp) opened our SRTCP: it measured the round trip from our receiver reports and saw our PLI.
      expect(roundTripMs).toBeGreaterThan(0);
      expect(consumerStats!.pliCount).toBeGreaterThanOrEqual(1);
      expect(endpoint.stats.errors).toBe(0);
    });
  }

  it('over SRTP, drops packets altered in flight from the sender\'s own address, and NACKs bring them back', async () => {
    const { router, replayer, endpoint } = await rig();
    const relay = await tamperingRelay(endpoint.local, 40);
    closers.push(() => relay.close());
    const { recorder, link, output } = await recordOverUdp(router, replayer.producers, endpoint, 'srtp-tampered.mp4', false, false, relay.upstream, true);
    await replayer.play({ speed: 2 });
    await new Promise((r) => setTimeout(r, 1200));
    const [videoStats] = await link.consumers[0]!.getStats();
    const summary = await recorder.stop();
    expectWholeFixture(summary, output);
    expect(relay.tampered).toBeGreaterThan(20);
    expect(endpoint.stats.srtpUnauthenticated).toBe(relay.tampered);
    expect(videoStats!.nackCount).toBeGreaterThan(0);
    expect(summary.streams.map((s) => s.packetsLost)).toEqual([0, 0]);
  });

  it('with comedia and SRTP: mediasoup learns the recorder from its first SRTCP packet, the recorder takes only link.remote', async () => {
    const { router, replayer, endpoint } = await rig();
    const { recorder, link, output } = await recordOverUdp(router, replayer.producers, endpoint, 'comedia-srtp.mp4', true, true, endpoint.local, true);
    expect(link.transport.srtpParameters?.cryptoSuite).toBe('AES_CM_128_HMAC_SHA1_80');
    const forger = await videoForger(link, endpoint, 4);
    await Promise.all([replayer.play({ speed: 2 }), forger.flood(300, 20)]);
    await new Promise((r) => setTimeout(r, 300));
    expectWholeFixture(await recorder.stop(), output);
    expect(endpoint.stats.wrongSender).toBe(300);
    expect(endpoint.stats.srtpUnauthenticated).toBe(0);
    expect(forger.received).toBe(0);
  });

  it('refuses a second recording of an SSRC already recorded on the socket, leaving no file', async () => {
    const { router, replayer, endpoint } = await rig();
    const link = await sendToRecorder(router, replayer.producers, endpoint.local);
    const first = new Recorder({ source: endpoint.source(link.streams), output: join(dir, 'first.mp4') });
    await first.start();
    const second = new Recorder({ source: endpoint.source(link.streams), output: join(dir, 'second.mp4') });
    await expect(second.start()).rejects.toThrow(/SSRC \d+ is already being recorded on this socket/);
    expect(() => ffprobeStreams(join(dir, 'second.mp4'))).toThrow();
    await first.stop();
  });
});
