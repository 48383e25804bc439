/**
 * Runs one streaming conversion in its own process and prints, as JSON, the summary and the
 * process's peak memory, so a test or bench measures the converter alone:
 * `node --import tsx test/helpers/convert-child.ts <capture> <sdp> <output>`.
 */
import { convertCaptureFile } from '../../src/convert.js';

const [capture, sdp, output] = process.argv.slice(2);
if (!capture || !sdp || !output) throw new Error('usage: convert-child.ts <capture> <sdp> <output>');
const started = performance.now();
const summary = await convertCaptureFile(capture, sdp, output);
const wallMs = performance.now() - started;
const usage = process.resourceUsage();
process.stdout.write(
  `${JSON.stringify({ maxRssBytes: usage.maxRSS * 1024, heapUsedBytes: process.memoryUsage().heapUsed, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, wallMs, summary })}\n`,
);
