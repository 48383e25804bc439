/**
 * What every video depacketizer does whatever its payload format: cut the packet stream into
 * frames, drop every frame that misses a packet, and count. A codec's depacketizer extends it with
 * its payload format only, through the hooks: addPacket() parses one packet into the frame,
 * emitFrame() builds a whole frame and hands it to output(), clearFrame() forgets it.
 *
 * Rules:
 * - a frame is the packets of one RTP timestamp; it ends with the marker bit, or when a packet
 *   with another timestamp comes (so a lost marker cannot glue two frames together);
 * - a frame that lost a packet (`reset()` while it is assembled) or had one that was malformed or
 *   out of place (breakFrame()) is broken: its further packets are not parsed and it is dropped
 *   whole, counted in `stats.framesDroppedIncomplete`; so is one left open at its end
 *   (frameComplete());
 * - after a loss, and at the start of a stream, the first packet of a frame must also prove that
 *   no packet of that frame came before it (startsAfterLoss()), else the frame is broken. Packets
 *   of the last frame's timestamp prove nothing (they may belong to that frame, an upper layer's
 *   say), so by default only a new timestamp starts a frame again; codecs that can tell a frame's
 *   first packet from its payload check that in addPacket() as well.
 *
 * push() runs once per packet: it allocates nothing, and its only call into the codec is
 * addPacket(); the other hooks run once per frame.
 */
import type { DepacketizerStats, Depacketizer, Frame, FrameCallback, VideoConfig } from './frame.js';
import type { RtpPacket } from '../rtp/packet.js';

export abstract class FrameAssembler implements Depacketizer {
  abstract readonly stats: DepacketizerStats;

  /** Unwrapped RTP timestamp of the frame being assembled, in 90 kHz units. */
  private timestamp = 0;
  /** A packet of this frame was lost, malformed or out of place: drop the rest of it. */
  protected broken = false;
  /** A frame is being assembled (a packet of `timestamp` came, its end not yet). */
  private active = false;
  /** Timestamp of the last frame ended. */
  private lastTimestamp: number | undefined;
  /** A reset() came since the last packet (or no packet yet): the next one may not follow the last one sent. */
  private afterLoss = true;

  constructor(private readonly onFrame: FrameCallback) {}

  push(packet: RtpPacket, timestamp: number): void {
    if (this.active && timestamp !== this.timestamp) this.end();
    const first = !this.active;
    if (first) {
      this.active = true;
      this.timestamp = timestamp;
      if (this.afterLoss && !this.startsAfterLoss(packet.payload, timestamp)) this.broken = true;
    }
    this.afterLoss = false;
    if (!this.broken) this.addPacket(packet.payload, first);
    if (packet.marker) this.end();
  }

  reset(): void {
    if (this.active) this.broken = true;
    this.afterLoss = true;
  }

  /** Parses one packet's payload into the frame; `first`: the frame's first packet. Not called once the frame is broken. */
  protected abstract addPacket(payload: Buffer, first: boolean): void;

  /**
   * Called at the end of a frame that lost nothing: builds it and hands it to output(), or drops
   * it when only the whole frame shows it unusable (counting why in `stats`).
   */
  protected abstract emitFrame(): void;

  /** Forgets the frame's packets and state once it is emitted or dropped (so that its packets can be collected). */
  protected abstract clearFrame(): void;

  /** Whether the frame lost nothing at its end: false while a fragment is open. */
  protected frameComplete(): boolean {
    return true;
  }

  /** The frame's first packet came after a loss: whether it provably starts the frame (see the rules above). */
  protected startsAfterLoss(_payload: Buffer, timestamp: number): boolean {
    return timestamp !== this.lastTimestamp;
  }

  /** A frame was dropped as incomplete (and counted): for codecs that keep state across frames. */
  protected noteDroppedFrame(): void {}

  /** Hands a frame of the current timestamp on. */
  protected output(data: Buffer, keyframe: boolean, config: VideoConfig | undefined): void {
    const frame: Frame = { timestamp: this.timestamp, data, keyframe, config, duration: undefined };
    this.stats.framesEmitted++;
    this.onFrame(frame);
  }

  /** A malformed packet: counted, and its frame dropped. */
  protected malformed(): void {
    this.stats.packetsMalformed++;
    this.broken = true;
  }

  /** A packet out of place (a start lost, say): the frame cannot be whole. */
  protected breakFrame(): void {
    this.broken = true;
  }

  /** The whole frame turned out malformed in emitFrame(): counted, not emitted. */
  protected dropMalformed(): void {
    this.stats.packetsMalformed++;
    this.stats.framesDroppedIncomplete++;
  }

  private end(): void {
    if (!this.broken && this.frameComplete()) {
      this.emitFrame();
    } else {
      this.stats.framesDroppedIncomplete++;
      this.noteDroppedFrame();
    }
    this.lastTimestamp = this.timestamp;
    this.active = false;
    this.broken = false;
    this.clearFrame();
  }
}
