// Field faults in the browser: several tabs open at once, and a tab killed in
// the middle of typing. Nothing is lost, nothing is sent twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, pendingCount, recordVisit, localRecords, accountPrefix, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();

test('two tabs: each record is uploaded at most once, and an edit in one tab shows in the other', async () => {
  const { context, page: a } = await phone(env.browser);
  await signIn(a, env.server, MEMBER1, 10);
  const b = await context.newPage();
  await b.goto(env.server.url + '/');
  await b.waitForSelector('[data-testid=household-list] li');

  const sent = [];
  // Count the uploads the server answered (failed tries while offline are retries, not uploads).
  context.on('requestfinished', async (req) => {
    if (!req.url().endsWith('/api/sync/visits')) return;
    const resp = await req.response();
    if (resp && resp.status() === 200) sent.push(...JSON.parse(req.postData()).visits.map((v) => v.id));
  });

  await context.setOffline(true);
  await a.locator('[data-testid=household-list] a.card').nth(0).click();
  const first = await recordVisit(a);
  await b.locator('[data-testid=household-list] a.card').nth(1).click();
  const second = await recordVisit(b);
  await b.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '2');

  const t0 = Date.now();
  await context.setOffline(false);
  for (const p of [a, b]) {
    await p.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  }
  console.log(`both tabs' outboxes empty ${Date.now() - t0} ms after the network came back`);
  assert.deepEqual([...sent].sort(), [first, second].sort(), 'each record went up once, from one tab');

  // The same draft open in both tabs: an edit in one shows in the other and is not overwritten.
  await a.goto(env.server.url + '/');
  await a.locator('[data-testid=household-list] a.card').nth(2).click();
  await a.click('[data-testid=start-visit]');
  await a.waitForURL('**/visit/*');
  const url = a.url();
  await b.goto(url);
  await b.waitForSelector('#notes');
  await a.fill('#notes', '甲窗口写的');
  await b.waitForFunction(() => document.querySelector('#notes').value === '甲窗口写的');
  await b.waitForSelector('[data-testid=other-tab]');
  await b.fill('#notes', '甲窗口写的，乙窗口补充');
  await a.waitForFunction(() => document.querySelector('#notes').value === '甲窗口写的，乙窗口补充');
  const id = url.split('/visit/')[1];
  const stored = JSON.parse((await localRecords(a))[`daohu:v1:visit:${id}`]);
  assert.equal(stored.visit.sections[0].notes, '甲窗口写的，乙窗口补充');
  await context.close();
});

test('saving online, and the upload that follows, raise no "changed in another window"', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await page.locator('[data-testid=household-list] a.card').nth(5).click();
  const id = await recordVisit(page);
  // Still on the saved screen while the outbox uploads it.
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 45_000 });
  const visitKey = (await accountPrefix(page)) + `visit:${id}`;
  await page.waitForFunction((k) => JSON.parse(localStorage.getItem(k)).sync.state === 'stored', visitKey);
  await page.waitForTimeout(300);
  assert.ok(page.url().endsWith(`/visit/${id}`));
  assert.equal(await page.locator('[data-testid=other-tab]').count(), 0, 'an upload is not an edit in another window');
  await context.close();
});

test('a tab killed while typing leaves every record whole, in its old or new state', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await context.setOffline(true); // so the saved record stays pending and byte-identical
  await page.locator('[data-testid=household-list] a.card').nth(3).click();
  const saved = await recordVisit(page); // a saved record that must stay exactly as it is
  const savedBefore = (await localRecords(page))[`daohu:v1:visit:${saved}`];
  await page.goto(env.server.url + '/').catch(() => {});
  await page.locator('[data-testid=household-list] a.card').nth(4).click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  const url = page.url();
  const id = url.split('/visit/')[1];
  const text = '家里老人身体不好需要定期就医联系村医上门'.repeat(3);

  let current = page;
  for (let round = 0; round < 8; round++) {
    await current.waitForSelector('#notes');
    await current.fill('#notes', '');
    await current.focus('#notes');
    // Kill the tab after a different number of keystrokes each round.
    const cut = 5 + round * 7;
    await current.keyboard.type(text.slice(0, cut), { delay: 0 });
    await current.close({ runBeforeUnload: false });
    current = await context.newPage();
    await current.goto(url).catch(() => {});
    await current.waitForSelector('#notes');
    const recs = await localRecords(current);
    for (const [k, v] of Object.entries(recs)) {
      const r = JSON.parse(v); // every record parses
      assert.equal(r.schema, 1, k);
    }
    const draft = JSON.parse(recs[`daohu:v1:visit:${id}`]);
    const notes = draft.visit.sections[0].notes;
    assert.ok(text.startsWith(notes), `round ${round}: the draft holds a prefix of what was typed`);
    assert.ok(notes.length >= cut - 1, `round ${round}: at most the last keystroke is missing (${notes.length}/${cut})`);
    assert.equal(recs[`daohu:v1:visit:${saved}`], savedBefore, 'the saved record is untouched');
  }
  assert.equal(await pendingCount(current), 1, 'the saved visit still waits, once');
  await context.close();
});
