// Browser tests of storage and the outbox under faults: server down, expired
// session, a full phone, and data stored by an older version of the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { useServerAndBrowser, makeVisit, injectPending, phoneState, phone, signIn, pendingCount, recordVisit, localRecords, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();

const historyIds = async (token) => {
  const r = await env.server.api('/api/roster', { token });
  return r.json.households.flatMap((h) => h.history.map((v) => v.id));
};

test('server down: the outbox says why in plain words, keeps the visit, and uploads once it is back', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await env.server.stop();
  await page.locator('[data-testid=household-list] a.card').nth(1).click();
  const id = await recordVisit(page);
  await page.goto(env.server.url + '/outbox').catch(() => {});
  await page.waitForSelector('[data-testid=outbox-error]', { timeout: 15_000 });
  assert.match(await page.textContent('[data-testid=outbox-error]'), /连不上服务器/);
  assert.equal(await pendingCount(page), 1);

  await env.server.start();
  await page.click('[data-testid=upload-now]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 15_000 });
  await page.waitForSelector('[data-testid=outbox-error]', { state: 'detached' });
  assert.notEqual(await page.textContent('[data-testid=outbox-last-success]'), '还没有');
  const token = await env.server.login(MEMBER1);
  assert.deepEqual((await historyIds(token)).filter((x) => x === id), [id]);
  await context.close();
});

test('an upload stalled on a weak line is given up after two minutes and sent again, once', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  // The page's clock, from here on the test's to move.
  await page.clock.install();
  await page.clock.resume();
  await page.goto(env.server.url + '/');
  await page.waitForSelector('[data-testid=household-list] li');
  // The first upload's answer never comes (the signal gone, the phone not told).
  let tries = 0;
  await page.route('**/api/sync/visits', async (route) => {
    tries += 1;
    if (tries > 1) await route.continue();
  });
  await page.locator('[data-testid=household-list] a.card').nth(2).click();
  const id = await recordVisit(page);
  for (let i = 0; i < 100 && tries === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(tries, 1, 'the upload started');
  // A minute on, the try still hangs: nothing else is sent, the visit waits.
  await page.clock.fastForward('01:00');
  assert.equal(await pendingCount(page), 1);
  assert.equal(tries, 1);
  // Two minutes after it started, the try is given up and made again.
  await page.clock.fastForward('01:01');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  assert.equal(tries, 2);
  const token = await env.server.login(MEMBER1);
  assert.deepEqual((await historyIds(token)).filter((x) => x === id), [id], 'stored once');
  await context.close();
});

test('an expired session asks to sign in again and leaves the outbox alone', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  // End the session on the server, as an expiry would.
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('daohu:v1:session')).token);
  assert.equal((await env.server.api('/api/auth/logout', { token, method: 'POST' })).status, 204);

  await page.locator('[data-testid=household-list] a.card').nth(2).click();
  const id = await recordVisit(page);
  await page.waitForSelector('.banner.warn >> text=登录已过期');
  assert.equal(await pendingCount(page), 1);
  assert.ok((await localRecords(page))[`daohu:v1:visit:${id}`]);

  await page.click('.banner.warn a');
  await page.waitForURL('**/login');
  assert.equal(await page.inputValue('#phone'), MEMBER1.phone, 'the phone number is remembered');
  await page.fill('#password', MEMBER1.password);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 15_000 });
  const fresh = await env.server.login(MEMBER1);
  assert.ok((await historyIds(fresh)).includes(id));
  await context.close();
});

test('a full phone: the save says it failed, never "saved", and stored records stay byte-identical', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await context.setOffline(true);
  await page.locator('[data-testid=household-list] a.card').nth(4).click();
  const kept = await recordVisit(page); // one saved record that must survive untouched
  await page.goto(env.server.url + '/').catch(() => {});
  await page.locator('[data-testid=household-list] a.card').nth(6).click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let s = 0; s < 5; s++) {
    await page.click('button.state:has-text("已完成")');
    await page.click('.step-buttons button.primary');
  }
  await page.click('.steps .dot >> nth=6');
  await page.waitForSelector('[data-testid=step-title] >> text=7 / 7');

  const digest = (recs) => createHash('sha256').update(JSON.stringify(Object.entries(recs).sort())).digest('hex');
  const before = await localRecords(page);
  // Fill local storage until the browser refuses more, leaving only a few bytes.
  await page.evaluate(() => {
    let chunk = 'x'.repeat(512 * 1024);
    let i = 0;
    while (chunk.length >= 1) {
      try { localStorage.setItem(`filler:${i++}`, chunk); } catch { chunk = chunk.slice(0, Math.floor(chunk.length / 2)); }
    }
  });
  // What the member types now no longer fits: the draft's autosave says so.
  await page.fill('#summary', '这户老人独居，需要每周上门看看。'.repeat(8));
  await page.waitForSelector('p.error >> text=存储空间已满');
  const started = Date.now();
  // The click goes to the button itself, not to a point on the screen: the
  // offline banner above may change height while the uploader retries. A click
  // landing elsewhere is the suspected cause of one run that waited the full 10 s
  // here (it passed on every rerun).
  await page.locator('[data-testid=save-visit]').dispatchEvent('click');
  // The figure is about a second; the wait is longer so a busy shared machine does not fail it.
  await page.waitForSelector('[data-testid=save-error]', { timeout: 10_000 });
  console.log(`save failure shown after ${Date.now() - started} ms`);
  assert.match(await page.textContent('[data-testid=save-error]'), /存储空间已满/);
  assert.equal(await page.locator('[data-testid=saved-status]').count(), 0, 'never says saved');
  assert.equal(await page.locator('[data-testid=save-visit]').count(), 1, 'the entry stays on screen');
  assert.equal(digest(await localRecords(page)), digest(before), 'stored records are byte-identical');
  assert.ok(before[`daohu:v1:visit:${kept}`]);

  // Free room and save again: it works and the first record is still there.
  await page.evaluate(() => { for (const k of Object.keys(localStorage)) if (k.startsWith('filler:')) localStorage.removeItem(k); });
  await page.click('[data-testid=save-visit]');
  await page.waitForSelector('[data-testid=saved-status]');
  assert.equal(await pendingCount(page), 2);
  await context.close();
});

test('the outbox says in plain words how many more visits fit, and warns when the phone is nearly full', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await page.goto(env.server.url + '/outbox');
  const room = async () => (await page.textContent('[data-testid=storage-room]')).trim();
  const empty = await room();
  const m = empty.match(/^约 (\d+) 条走访记录$/);
  assert.ok(m && Number(m[1]) > 2000, `an empty phone has room for thousands: ${empty}`);
  assert.equal(await page.getByText('快用完了').count(), 0);

  // Leave room for about 60,000 characters: a few dozen visits.
  await page.evaluate(() => {
    localStorage.setItem('filler:room', 'x'.repeat(60_000));
    let chunk = 'x'.repeat(512 * 1024);
    let i = 0;
    while (chunk.length >= 1) {
      try { localStorage.setItem(`filler:${i++}`, chunk); } catch { chunk = chunk.slice(0, Math.floor(chunk.length / 2)); }
    }
    localStorage.removeItem('filler:room');
  });
  await page.reload();
  const short = await room();
  const n = short.match(/^约 (\d+) 条走访记录，快满了，请尽快上传$/);
  assert.ok(n && Number(n[1]) >= 10 && Number(n[1]) < 100, short);
  await page.waitForSelector('text=手机给本应用的存储空间快用完了');
  await context.close();
});

test('a visit stored by an older app version migrates, once, and uploads', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  const me = await phoneState(page);
  // Version 0 kept the bare saved visit, with no envelope.
  const old = makeVisit(me.households[7], me.memberId, { visitedOn: '2026-11-20', summary: '旧版本记录' });
  const id = old.id;
  await injectPending(page, [old], { bare: true });
  await page.reload();
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 15_000 });
  const stored = JSON.parse((await localRecords(page))[`daohu:v1:visit:${id}`]);
  assert.equal(stored.schema, 1);
  assert.equal(stored.sync.state, 'stored');
  const token = await env.server.login(MEMBER1);
  assert.ok((await historyIds(token)).includes(id));
  await context.close();
});
