// Lighthouse mobile (a benchmark, not a test) on the sign-in page and on the
// household list (signed in, warm: the service worker installed), against the
// real server. Lighthouse is large, so it is not one of the test packages:
//   (mkdir -p /tmp/lh && cd /tmp/lh && npm install lighthouse@12)
//   LIGHTHOUSE=/tmp/lh/node_modules/.bin/lighthouse node tests/e2e/lighthouse.mjs
// Prints performance, accessibility and LCP for each page.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Server, MEMBER1 } from './harness.mjs';

const LIGHTHOUSE = process.env.LIGHTHOUSE || 'lighthouse';
const CHROME = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const server = new Server();
await server.start();
const profile = mkdtempSync(join(tmpdir(), 'daohu-lh-'));
try {
  // Sign in once in a profile Lighthouse then reuses, and let the worker install.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROME, headless: true, args: FLAGS.slice(1), viewport: { width: 360, height: 640 }, locale: 'zh-CN',
  });
  const page = await context.newPage();
  await page.goto(server.url + '/');
  await page.waitForURL('**/login');
  await page.fill('#phone', MEMBER1.phone);
  await page.fill('#password', MEMBER1.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=household-list] li');
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForSelector('[data-testid=household-list] li');
  await context.close();

  const audit = (url, name, { signedIn }) => {
    const out = join(profile, `${name}.json`);
    const flags = [...FLAGS, ...(signedIn ? [`--user-data-dir=${profile}`] : [])];
    const run = spawnSync(LIGHTHOUSE, [url, '--quiet', '--output=json', `--output-path=${out}`,
      '--only-categories=performance,accessibility', ...(signedIn ? ['--disable-storage-reset'] : []),
      ...(process.env.THROTTLING ? [`--throttling-method=${process.env.THROTTLING}`] : []),
      `--chrome-flags=${flags.join(' ')}`], { env: { ...process.env, CHROME_PATH: CHROME }, stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0) throw new Error(`lighthouse failed on ${url}`);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const result = {
      page: name,
      performance: report.categories.performance.score,
      accessibility: report.categories.accessibility.score,
      lcp_ms: Math.round(report.audits['largest-contentful-paint'].numericValue),
      fcp_ms: Math.round(report.audits['first-contentful-paint'].numericValue),
      lcp_element: report.audits['largest-contentful-paint-element']?.details?.items?.[0]?.items?.[0]?.node?.snippet,
    };
    console.log(JSON.stringify(result));
    return result;
  };
  audit(server.url + '/login', 'sign-in page', { signedIn: false });
  audit(server.url + '/', 'household list (signed in, warm)', { signedIn: true });
} finally {
  await server.stop();
  rmSync(profile, { recursive: true, force: true });
}
