// A new version of the app installs while visits wait and a draft is open:
// the new service worker waits, the app offers "new version, reload", and
// after the reload every record is still there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, DIST, launchBrowser, phone, signIn, waitForServiceWorker, recordVisit, localRecords, makeVisit, injectPending, phoneState, MEMBER1 } from './harness.mjs';

let server;
let browser;
let dist;

before(async () => {
  dist = mkdtempSync(join(tmpdir(), 'daohu-dist-'));
  cpSync(DIST, dist, { recursive: true, preserveTimestamps: true });
  server = new Server({ dist });
  await server.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.cleanup();
  rmSync(dist, { recursive: true, force: true });
});

test('an app update waits for the member and keeps waiting visits and the open draft', async () => {
  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await waitForServiceWorker(page);
  await context.setOffline(true);
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  await recordVisit(page);
  await page.goto(server.url + '/').catch(() => {});
  await page.locator('[data-testid=household-list] a.card').nth(1).click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  await page.fill('#notes', '草稿里的字');
  const before = await localRecords(page);
  assert.equal(Object.keys(before).length, 2);

  // Deploy a new version: a new service worker script.
  const sw = join(dist, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8') + '\n// next build\n');
  await context.setOffline(false);
  await page.evaluate(async () => { const r = await navigator.serviceWorker.getRegistration(); await r.update(); });
  await page.waitForSelector('.banner.info >> text=有新版本', { timeout: 15_000 });
  // Nothing changed under the member's hands while the new version waits.
  assert.equal(await page.inputValue('#notes'), '草稿里的字');

  await Promise.all([page.waitForEvent('load'), page.click('.banner.info button')]);
  await page.waitForSelector('[data-testid=step-title]');
  assert.equal(await page.inputValue('#notes'), '草稿里的字', 'the draft reopens after the update');
  const afterUpdate = await localRecords(page);
  for (const [k, v] of Object.entries(before)) {
    const was = JSON.parse(v);
    const now = JSON.parse(afterUpdate[k]);
    assert.deepEqual(now.visit, was.visit, `${k} kept`);
  }
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 15_000 });
  await context.close();
});

test('an app update with 500 visits waiting keeps all 500, and they upload once', async () => {
  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await waitForServiceWorker(page);
  await context.setOffline(true);
  const me = await phoneState(page);
  const visits = Array.from({ length: 500 }, (_, i) => makeVisit(me.households[i % me.households.length], me.memberId, { visitedOn: '2026-11-20', summary: `第${i}条` }));
  const ids = visits.map((v) => v.id);
  await injectPending(page, visits);
  await page.reload();
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '500');

  const sw = join(dist, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8') + '\n// another build\n');
  await context.setOffline(false);
  await page.evaluate(async () => { const r = await navigator.serviceWorker.getRegistration(); await r.update(); });
  await page.waitForSelector('.banner.info >> text=有新版本', { timeout: 15_000 });
  // The new version takes over while 500 visits are uploading. On one clean-clone
  // CI run the reload did not come within the default 30 s (it passes in about
  // 3 s here; the cause was not found), so the wait is longer.
  await Promise.all([page.waitForEvent('load', { timeout: 90_000 }), page.click('.banner.info button')]);
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 60_000 });
  const stored = await localRecords(page);
  for (const id of ids) assert.equal(JSON.parse(stored[`daohu:v1:visit:${id}`]).sync.state, 'stored', id);
  const token = await server.login(MEMBER1);
  const roster2 = await server.api('/api/roster', { token });
  const onServer = new Set(roster2.json.households.flatMap((h) => h.history.map((v) => v.id)));
  for (const id of ids) assert.ok(onServer.has(id), `${id} on the server`);
  await context.close();
});
