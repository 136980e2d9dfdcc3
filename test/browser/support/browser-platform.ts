import type { Browser } from 'playwright-core';
import { launchChromium } from './browser';
import { startPortalPlatform, type PortalPlatform, type PortalPlatformOptions } from './platform';

/** What a browser test file works against; both are there once its first beforeAll ran. */
export interface BrowserPlatform {
  platform: PortalPlatform;
  browser: Browser;
}

export interface BrowserPlatformOptions extends PortalPlatformOptions {
  /** Chromium under `nice -n <niceness>`, for a measurement the machine's other work must not stretch. */
  niceness?: number;
  /** The file's own clean-up that needs the platform still running (its API), before Chromium and the platform stop. */
  beforeStop?: (platform: PortalPlatform) => Promise<void>;
}

/**
 * The platform (startPortalPlatform) and Chromium for one test file: both started in a beforeAll,
 * then Chromium closed and the platform stopped (every container of its label removed) in an
 * afterAll. Called at the top of the file, before the file's own hooks: Jest runs hooks in the
 * order they are declared, so the file's beforeAll finds both started.
 */
export function setUpBrowserPlatform({
  niceness,
  beforeStop,
  ...opts
}: BrowserPlatformOptions): BrowserPlatform {
  const rig: Partial<BrowserPlatform> = {};
  beforeAll(async () => {
    rig.platform = await startPortalPlatform(opts);
    rig.browser = await launchChromium(niceness === undefined ? {} : { niceness });
  }, 120_000);
  afterAll(async () => {
    try {
      if (rig.platform) await beforeStop?.(rig.platform);
    } finally {
      await rig.browser?.close();
      await rig.platform?.stop();
    }
  }, 120_000);
  return rig as BrowserPlatform;
}
