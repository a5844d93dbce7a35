import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const INSTALL_HINT =
  `Chromium is needed by this test and could not be started from ${CHROMIUM}. ` +
  'Install it: `apt-get install -y chromium` (Debian), or point CHROMIUM_BIN at a Chromium binary.';

/** The machine's Chromium, headless and quiet (no network of its own); fails saying how to install it. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(INSTALL_HINT);
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    throw new Error(`${INSTALL_HINT} (${(error as Error).message})`);
  }
}
