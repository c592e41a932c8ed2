// End to end, in Debian's headless Chromium against the real server and SQLite:
// sign in, cut the network, record two visits, reload offline, bring the
// network back, and check the server holds both visits exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, waitForServiceWorker, pendingCount, recordVisit, localRecords, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();

test('two visits recorded offline survive a reload and upload exactly once', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await waitForServiceWorker(page);
  // The worker cached what the (minified) page loads: wasm, its js and the css.
  const cached = await page.evaluate(async () => {
    const paths = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) paths.push(new URL(req.url).pathname);
    }
    return paths;
  });
  for (const re of [/^\/daohu-[0-9a-f]+_bg\.wasm$/, /^\/daohu-[0-9a-f]+\.js$/, /^\/main-[0-9a-f]+\.css$/, /^\/register-sw\.js$/]) {
    assert.ok(cached.some((p) => re.test(p)), `${re} is cached: ${cached.join(' ')}`);
  }

  // The first screen speaks Chinese and marks due households.
  assert.match(await page.textContent('h1'), /我的联系户/);
  assert.ok(await page.locator('.tag.due').count() > 0, 'never-visited households are due');

  await context.setOffline(true);
  await page.waitForSelector('.net.offline');

  const names = await page.locator('[data-testid=household-list] .card-title').allTextContents();
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  const first = await recordVisit(page, { problem: { category: 'water', text: '自来水管冻裂，需要维修' }, summary: '家里都好' });
  assert.match(await page.textContent('[data-testid=saved-status]'), /已保存，等待上传/);

  await page.goto(env.server.url + '/').catch(() => {}); // offline navigation is answered by the service worker
  await page.locator('[data-testid=household-list] a.card', { hasText: names[1] }).click();
  const second = await recordVisit(page, { state: '不适用' });
  assert.notEqual(first, second);
  assert.equal(await pendingCount(page), 2);

  // Reload with the network still off: the app and both visits are there.
  await page.reload();
  await page.waitForSelector('[data-testid=pending-count]');
  assert.equal(await pendingCount(page), 2);
  const stored = await localRecords(page);
  assert.ok(stored[`daohu:v1:visit:${first}`] && stored[`daohu:v1:visit:${second}`], 'both visits are in storage');
  await page.goto(env.server.url + '/outbox');
  assert.match(await page.textContent('[data-testid=outbox-waiting]'), /^2/);
  // No network reads as a state, not as a failure.
  assert.match(await page.textContent('[data-testid=outbox-offline]'), /现在没有网络/);
  assert.equal(await page.locator('[data-testid=outbox-error]').count(), 0);

  // Nothing reached the server while offline.
  const token = await env.server.login(MEMBER1);
  let roster = await env.server.api('/api/roster', { token });
  assert.equal(roster.json.households.flatMap((h) => h.history).length, 0);

  // Network back: the outbox empties by itself.
  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  // Today's uploads stay on the outbox screen, ticked, with their time.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=uploaded-today]').length === 2);
  for (const text of await page.locator('[data-testid=uploaded-today]').allTextContents()) {
    assert.match(text, /✓ 已上传 \d\d:\d\d/);
  }

  roster = await env.server.api('/api/roster', { token });
  const ids = roster.json.households.flatMap((h) => h.history.map((v) => v.id));
  assert.deepEqual(ids.sort(), [first, second].sort(), 'the server holds both visits, once each');
  const firstOnServer = roster.json.households.flatMap((h) => h.history).find((v) => v.id === first);
  assert.equal(firstOnServer.problem_count, 1);

  // The household's history now shows what is on the env.server.
  await page.goto(env.server.url + '/');
  await page.locator('[data-testid=household-list] a.card', { hasText: names[0] }).click();
  await page.waitForSelector(`[data-testid=server-history] li[data-visit-id="${first}"]`);

  // A second upload round sends nothing again.
  await page.goto(env.server.url + '/outbox');
  await page.click('[data-testid=upload-now]');
  await page.waitForSelector('[data-testid=upload-now]:not([disabled])');
  roster = await env.server.api('/api/roster', { token });
  assert.equal(roster.json.households.flatMap((h) => h.history).length, 2);
  await context.close();
});

test('a draft survives a reload at the step it was on', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await page.locator('[data-testid=household-list] a.card').nth(3).click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  await page.click('button.state:has-text("已完成")');
  await page.click('.step-buttons button.primary');
  await page.click('.step-buttons button.primary');
  await page.waitForSelector('[data-testid=step-title] >> text=3 / 7');
  await page.fill('#notes', '低保待遇正常发放');
  const url = page.url();

  await page.reload();
  await page.waitForSelector('[data-testid=step-title] >> text=3 / 7');
  assert.equal(await page.inputValue('#notes'), '低保待遇正常发放');
  await page.click('.steps .dot >> nth=0');
  assert.equal(await page.getAttribute('button.state:has-text("已完成")', 'aria-checked'), 'true');

  // The household offers to continue it, and drafts are not uploaded.
  await page.goto(url.replace(/\/visit\/.*/, '/'));
  assert.ok(await page.locator('.tag.draft').count() >= 1);
  assert.equal(await pendingCount(page), 0);
  await context.close();
});

test('an incomplete visit is not saved and says what is missing', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await page.locator('[data-testid=household-list] a.card').nth(5).click();
  await page.click('[data-testid=start-visit]');
  await page.click('.steps .dot >> nth=6');
  await page.click('[data-testid=save-visit]');
  await page.waitForSelector('ul.error li');
  assert.match(await page.textContent('ul.error'), /党员联系到户/);
  assert.equal(await page.locator('[data-testid=saved-status]').count(), 0);
  assert.equal(await pendingCount(page), 0);
  await context.close();
});
