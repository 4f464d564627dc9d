// Opens the workbench whose URL carries `extensionTestsPath`, so that the extension host runs the
// in-host tests, and waits for their verdict file. Usage: node host.js URL VERDICT ARTIFACTS_DIR
import * as path from 'node:path';
import { fileAppears, launch, openWorkbench } from './browser';

async function main(): Promise<number> {
  const [url, verdict, artifacts] = process.argv.slice(2);
  if (!url || !verdict || !artifacts) {
    console.error('usage: host.js URL VERDICT ARTIFACTS_DIR');
    return 2;
  }
  const timeoutMs = Number(process.env.AGENTD_HOST_TIMEOUT_MS ?? 240_000);
  const browser = await launch();
  try {
    const page = await openWorkbench(browser, url);
    const done = await fileAppears(verdict, timeoutMs);
    await page.screenshot({ path: path.join(artifacts, done ? 'host-end.png' : 'host-timeout.png') });
    if (!done) {
      console.error(`no verdict at ${verdict} within ${timeoutMs} ms`);
      return 1;
    }
    return 0;
  } finally {
    await browser.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
