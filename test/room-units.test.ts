/** The room's pure parts: the RTP splicer of the speaker track, the speaker selector's hysteresis, safe names. */
import { describe, expect, it } from 'vitest';
import { RtpSplicer } from '../src/room/rtp-splicer.js';
import { SpeakerSelector } from '../src/room/speaker-selector.js';

/** A 12-byte RTP header + 1 payload byte; payload 1 marks a keyframe's first packet here. */
function rtp(seq: number, ts: number, ssrc: number, key = false, pt = 96): Buffer {
  const b = Buffer.alloc(13);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b[12] = key ? 1 : 0;
  return b;
}
const head = (b: Buffer | undefined) => b && { pt: b[1]! & 0x7f, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8) };

describe('RtpSplicer', () => {
  const make = () => {
    const switches: [string, number][] = [];
    const splicer = new RtpSplicer(7, 100, 90000, () => ({ startsKeyframe: (raw) => raw[12] === 1 }), (id, at) => switches.push([id, at]));
    return { splicer, switches };
  };

  it('starts at the first keyframe of the input asked for and rewrites SSRC and payload type', () => {
    const { splicer, switches } = make();
    splicer.switchTo('a');
    expect(splicer.push('a', rtp(10, 1000, 1), 0)).toBeUndefined(); // not a keyframe: waits
    expect(head(splicer.push('a', rtp(11, 4000, 1, true), 33))).toEqual({ pt: 100, seq: 11, ts: 4000, ssrc: 7 });
    expect(head(splicer.push('a', rtp(12, 7000, 1), 66))).toEqual({ pt: 100, seq: 12, ts: 7000, ssrc: 7 });
    expect(switches).toEqual([['a', 33]]);
    expect(splicer.push('b', rtp(500, 9, 2, true), 70)).toBeUndefined(); // not asked for
  });

  it('keeps the current input until the new one sends a keyframe, then continues numbers and time', () => {
    const { splicer, switches } = make();
    splicer.switchTo('a');
    splicer.push('a', rtp(65535, 4_294_960_000, 1, true), 0);
    splicer.switchTo('b');
    expect(splicer.push('b', rtp(300, 50_000, 2), 10)).toBeUndefined(); // b's delta frame: a stays
    expect(head(splicer.push('a', rtp(0, 4_294_963_000, 1), 33))).toMatchObject({ seq: 0, ts: 4_294_963_000 });
    // b's keyframe 40 ms after a's last packet: seq + 1, timestamp + 40 ms of 90 kHz (wrapping).
    expect(head(splicer.push('b', rtp(301, 60_000, 2, true), 73))).toEqual({ pt: 100, seq: 1, ts: (4_294_963_000 + 3600) >>> 0, ssrc: 7 });
    expect(head(splicer.push('b', rtp(302, 63_000, 2), 106))).toMatchObject({ seq: 2, ts: (4_294_963_000 + 6600) >>> 0 });
    expect(splicer.push('a', rtp(1, 4_294_966_000, 1), 66)).toBeUndefined(); // a is no longer shown
    expect(splicer.push('b', rtp(300, 50_000, 2), 110)).toBeUndefined(); // b from before the switch
    expect(switches.map(([id]) => id)).toEqual(['a', 'b']);
    expect(splicer.stats).toEqual({ packetsForwarded: 4, packetsDropped: 3, switches: 2 });
    // NACKs map back to the shown input's numbers; the old segment's cannot be asked for.
    expect(splicer.toInputSequence([2, 0])).toEqual({ id: 'b', seqs: [302] });
  });

  it('after the shown input ends, a new stream under its name starts at its keyframe and continues the numbering', () => {
    const { splicer } = make();
    splicer.switchTo('a');
    splicer.push('a', rtp(100, 1000, 1, true), 0);
    splicer.end('a');
    expect(splicer.current).toBeUndefined();
    splicer.switchTo('a');
    expect(splicer.push('a', rtp(9000, 500, 3), 50)).toBeUndefined();
    expect(head(splicer.push('a', rtp(9001, 800, 3, true), 100))).toMatchObject({ seq: 101, ts: 1000 + 9000 });
  });

  it('puts a keyframe that arrives right behind the old stream\'s last packet 10 ms after it (Matroska stamps whole ms)', () => {
    const { splicer } = make();
    splicer.switchTo('a');
    splicer.push('a', rtp(1, 1000, 1, true), 100);
    splicer.switchTo('b');
    expect(head(splicer.push('b', rtp(50, 7, 2, true), 100.01))).toMatchObject({ seq: 2, ts: 1000 + 900 });
  });

  it('drops packets too short to be RTP', () => {
    const { splicer } = make();
    splicer.switchTo('a');
    expect(splicer.push('a', Buffer.alloc(5), 0)).toBeUndefined();
    expect(splicer.stats.packetsDropped).toBe(1);
  });
});

describe('SpeakerSelector', () => {
  it('gives the floor to the loudest, but not before the current speaker has had it for the dwell', () => {
    const s = new SpeakerSelector(1500);
    expect(s.loudest('a', 0)).toBe('a');
    expect(s.loudest('a', 300)).toBeUndefined();
    expect(s.loudest('b', 1000)).toBeUndefined(); // a has had 1 s only
    expect(s.loudest('b', 1500)).toBe('b');
    expect(s.loudest('a', 2900)).toBeUndefined();
    s.forget('b'); // b left: the next loudest takes over at once
    expect(s.loudest('a', 2950)).toBe('a');
    expect(s.speaker).toBe('a');
  });
});

