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

/** The same in one line, for the end of a command's output. */
export function formatSummaryLine(path: string, summary: RecordingSummary): string {
  const streams = summary.streams.map((s) =>
    s.kind === 'video' ? `${s.codec} ${s.framesWritten} frames (${s.keyframesWritten} keyframes)` : `${s.codec} ${s.framesWritten} frames`,
  );
  const sum = (key: 'packetsReceived' | 'packetsLost' | 'packetsRecovered'): number => summary.streams.reduce((n, s) => n + s[key], 0);
  const dropped = summary.streams.reduce((n, s) => n + s.framesDroppedIncomplete + s.framesDroppedWaitingForKeyframe, 0);
  return (
    `${path}: ${(summary.durationMs / 1000).toFixed(2)} s, ${summary.bytes} bytes; ${streams.join(', ')}; ` +
    `packets ${sum('packetsReceived')} received, ${sum('packetsLost')} lost, ${sum('packetsRecovered')} recovered; ${dropped} frames dropped`
  );
}
