/**
 * Chromium for the end-to-end tests: the system's Debian `chromium` driven by playwright-core
 * (whose own browser download cannot work here), headless, with the fake camera and microphone,
 * loopback ICE candidates allowed, and a fresh user-data-dir per launch, removed on close.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // runs as root in CI
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream', // 640x480 20 fps test pattern and a beeping microphone
  '--use-fake-ui-for-media-stream', // getUserMedia without a permission prompt
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection', // with only loopback, WebRTC gathers no candidate without it
];

export interface Chromium {
  context: BrowserContext;
  version: string;
  close(): Promise<void>;
}

/** @param extraArgs more command-line switches, e.g. fake devices from files (`--use-file-for-fake-video-capture=`) */
export async function launchChromium(extraArgs: string[] = []): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    version: context.browser()?.version() ?? 'unknown',
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
