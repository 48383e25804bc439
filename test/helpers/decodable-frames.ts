/**
 * The oracle for "no damaged frame is written": how many frames of one video stream a perfect
 * receiver could decode without concealment, given what an Impairer let through. A recording of
 * the stream may hold at most `decodable` frames. Retransmissions that went through the same
 * impairer count (`wasDelivered`), so packets recovered by NACK are not held against the recorder.
 */
import { startsKeyframe } from '../../src/codec/keyframe-start.js';
import type { ImpairedPacket } from './impairer.js';

export interface DecodableFrames {
  /** Frames the sender sent (from its first packet on). */
  frames: number;
  /** Frames every packet of which, marker packet included, was delivered at least once. */
  complete: number;
  /** Complete frames whose whole chain back to the latest keyframe is complete. */
  decodable: number;
  /** Frames whose first packet starts a keyframe. */
  keyframes: number;
}

/**
 * Groups the sent packets of `ssrc` (first sight of each sequence number: retransmissions are not
 * new packets) into frames in sequence-number order: a frame ends at its marker packet, or where
 * the RTP timestamp changes or the log ends without one (then it is incomplete). A frame spans
 * every sequence number after the previous frame's end up to its own end, so a frame whose first
 * packets were never seen still counts as incomplete. Every inter frame is taken to reference the
 * one before it, as the fixtures are encoded and as the recorder behaves (it drops everything
 * after a loss until the next keyframe), so a frame is decodable only if it and every frame since
 * the latest keyframe are complete. Frames before the first keyframe are not decodable.
 */
export function decodableFrames(
  log: ImpairedPacket[],
  ssrc: number,
  mimeType: string,
  wasDelivered: (ssrc: number, sequenceNumber: number) => boolean,
): DecodableFrames {
  const sent = firstSightsInSequenceOrder(log, ssrc);
  const result: DecodableFrames = { frames: 0, complete: 0, decodable: 0, keyframes: 0 };
  let chainIntact = false;
  let frameStart = sent[0]?.seq ?? 0;
  let first: Buffer | undefined;
  for (let i = 0; i < sent.length; i++) {
    const { seq, packet } = sent[i]!;
    first ??= packet.packet;
    const next = sent[i + 1];
    const ended = packet.marker || next === undefined || next.packet.timestamp !== packet.timestamp;
    if (!ended) continue;
    // Without its marker packet a receiver cannot know the frame has ended.
    let complete = packet.marker;
    for (let s = frameStart; s <= seq && complete; s++) complete = wasDelivered(ssrc, s & 0xffff);
    const keyframe = startsKeyframe(mimeType, first);
    chainIntact = keyframe ? complete : chainIntact && complete;
    result.frames++;
    if (complete) result.complete++;
    if (chainIntact) result.decodable++;
    if (keyframe) result.keyframes++;
    frameStart = seq + 1;
    first = undefined;
  }
  return result;
}

/** The first copy of each sequence number of `ssrc` (by its extended number), in sequence order. */
function firstSightsInSequenceOrder(log: ImpairedPacket[], ssrc: number): { seq: number; packet: ImpairedPacket }[] {
  const bySeq = new Map<number, ImpairedPacket>();
  for (const packet of log) {
    if (packet.ssrc === ssrc && !bySeq.has(packet.extendedSequenceNumber)) bySeq.set(packet.extendedSequenceNumber, packet);
  }
  return [...bySeq].sort(([a], [b]) => a - b).map(([seq, packet]) => ({ seq, packet }));
}
