import type { RecordingSummary } from '../pipeline/recording-session.js';

/** One line per recording plus one per stream, for people reading a terminal. */
export function formatSummary(path: string, summary: RecordingSummary): string {
  const lines = [`${path}: ${(summary.durationMs / 1000).toFixed(2)} s, ${summary.bytes} bytes, ${summary.fragments} fragments`];
  for (const s of summary.streams) {
    const keyframes = s.kind === 'video' ? `, ${s.keyframesWritten} keyframes` : '';
    const silence = s.kind === 'audio' && s.silenceInsertedMs > 0 ? `, ${s.silenceInsertedMs.toFixed(0)} ms silence filled` : '';
    lines.push(
      `  ${s.kind} ${s.codec}: ${s.framesWritten} frames${keyframes}${silence}; packets ${s.packetsReceived} received, ` +
        `${s.packetsLost} lost, ${s.packetsRecovered} recovered, ${s.packetsLate} late, ${s.packetsDuplicate} duplicate, ` +
        `${s.packetsMalformed + s.packetsWrongPayloadType} dropped; ${s.framesDroppedIncomplete + s.framesDroppedWaitingForKeyframe} frames dropped`,
    );
  }
  return lines.join('\n');
}
