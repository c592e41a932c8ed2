// One phone, several accounts (issue 19): signing out keeps an account's records
// apart on the phone or removes them, a second account sees none of the first's,
// and a phone of the layout before accounts were kept apart moves its records to
// the signed-in account. Headless Chromium against the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useServerAndBrowser, phone, signIn, pendingCount, recordVisit, accountPrefix, makeVisit, MEMBER1, MEMBER2 } from './harness.mjs';

const env = useServerAndBrowser();

/** Every key and value in the page's local storage. */
async function rawStorage(page) {
  return page.evaluate(() => Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])));
}

async function householdNames(page) {
  return page.locator('[data-testid=household-list] .card-title').allTextContents();
}

/** Visit ids the server holds for the account. */
async function serverVisits(who) {
  const token = await env.server.login(who);
  const roster = await env.server.api('/api/roster', { token });
  return roster.json.households.flatMap((h) => h.history.map((v) => v.id));
}

async function signOut(page, how) {
  await page.click('.signout-link');
  await page.waitForURL('**/signout');
  await page.click(`[data-testid=signout-${how}]`);
  await page.waitForURL('**/login');
}

test('two accounts on one phone: kept records stay apart and upload once under their own account', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  const namesA = await householdNames(page);
  const prefixA = await accountPrefix(page);

  // A records two visits with no signal, and signs out keeping them.
  await context.setOffline(true);
  await page.waitForSelector('.net.offline');
  const ids = [];
  for (const name of namesA.slice(0, 2)) {
    await page.goto(env.server.url + '/').catch(() => {});
    await page.locator('[data-testid=household-list] a.card', { hasText: name }).click();
    ids.push(await recordVisit(page));
  }
  assert.equal(await pendingCount(page), 2);
  await page.click('.signout-link');
  await page.waitForURL('**/signout');
  assert.match(await page.textContent('[data-testid=signout-waiting]'), /还有你的 2 条记录没上传/);
  await page.click('[data-testid=signout-keep]');
  await page.waitForURL('**/login');
  assert.match(await page.textContent('[data-testid=waiting-elsewhere]'), /2 条记录/);
  assert.equal(await page.evaluate(() => localStorage.getItem('daohu:v1:session')), null, 'the session is gone');

  // B signs in on the same phone: none of A's households, visits or outbox.
  await context.setOffline(false);
  await signIn(page, env.server, MEMBER2, 10);
  const namesB = await householdNames(page);
  for (const name of namesA) assert.ok(!namesB.includes(name), `${name} is A's`);
  assert.equal(await pendingCount(page), 0, "A's waiting visits are not B's");
  const prefixB = await accountPrefix(page);
  assert.notEqual(prefixA, prefixB);
  const raw = await rawStorage(page);
  const bKeys = Object.keys(raw).filter((k) => k.startsWith(prefixB));
  assert.ok(bKeys.some((k) => k.endsWith(':roster')), "B's roster is kept");
  for (const k of bKeys) {
    for (const name of namesA) assert.ok(!raw[k].includes(name), `${k} holds none of A's names (${name})`);
    for (const id of ids) assert.ok(!raw[k].includes(id), `${k} holds none of A's visits`);
  }
  await page.goto(env.server.url + '/outbox');
  assert.match(await page.textContent('[data-testid=outbox-waiting]'), /^0/);
  // B's outbox names A's kept records, and exports them for a coordinator
  // (for an account that cannot sign in here any more).
  const others = await page.textContent('[data-testid=other-accounts]');
  assert.match(others, /张党员 · 13800000001：2 条记录没上传/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-other]')]);
  const file = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(file.member_id, prefixA.split(':')[3], "the file is A's");
  assert.deepEqual(file.visits.map((v) => v.id).sort(), [...ids].sort());
  assert.deepEqual(await serverVisits(MEMBER2), [], 'nothing uploaded under B');
  assert.deepEqual(await serverVisits(MEMBER1), [], 'nothing of A uploaded while B was signed in');

  // A signs in again: the two visits upload, once each.
  await signOut(page, 'keep');
  await signIn(page, env.server, MEMBER1, 10);
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  assert.deepEqual((await serverVisits(MEMBER1)).sort(), [...ids].sort());
  await context.close();
});

test('signing out and removing is refused while a visit waits, until it is exported; then nothing of the account is left', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  const names = await householdNames(page);
  const prefix = await accountPrefix(page);
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('daohu:v1:session')).token);
  // Uploads fail, as on a line that drops them: the visit keeps waiting.
  await page.route('**/api/sync/visits', (route) => route.abort());
  await page.locator('[data-testid=household-list] a.card').first().click();
  const id = await recordVisit(page, { summary: '要删除的记录' });

  await page.click('.signout-link');
  await page.waitForURL('**/signout');
  await page.click('[data-testid=signout-remove]');
  assert.match(await page.textContent('[data-testid=signout-note]'), /1 条走访记录没上传/);
  assert.ok((await rawStorage(page))[`${prefix}visit:${id}`], 'the visit is still there');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=signout-export]')]);
  const file = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(file.visits.map((v) => v.id), [id], 'the export file carries the waiting visit');
  await page.click('[data-testid=signout-remove]');
  await page.waitForURL('**/login');

  const raw = await rawStorage(page);
  assert.deepEqual(Object.keys(raw).filter((k) => k.startsWith(prefix)), [], 'no key of the account is left');
  for (const [k, v] of Object.entries(raw)) {
    for (const name of names) assert.ok(!v.includes(name), `${k} holds no household name`);
    assert.ok(!v.includes('要删除的记录'), `${k} holds no note`);
  }
  assert.equal((await env.server.api('/api/me', { token })).status, 401, 'the session ended on the server');
  await context.close();
});

test("a phone from before accounts were kept apart: its waiting visits and draft become the signed-in account's", async () => {
  const { context, page } = await phone(env.browser);
  // Today's layout, written straight into storage: session, roster, two waiting
  // visits and a draft under the keys of the version before.
  const login = await env.server.api('/api/auth/login', { method: 'POST', body: MEMBER1 });
  const session = login.json;
  const roster = (await env.server.api('/api/roster', { token: session.token })).json;
  const hs = roster.households.map((h) => h.household.id);
  const waiting = [makeVisit(hs[0], session.member.id), makeVisit(hs[1], session.member.id)];
  const draft = makeVisit(hs[2], session.member.id, { summary: '没写完的草稿' });
  await page.goto(env.server.url + '/login');
  await page.evaluate(({ session, roster, waiting, draft }) => {
    localStorage.setItem('daohu:v1:session', JSON.stringify(session));
    localStorage.setItem('daohu:v1:roster', JSON.stringify(roster));
    for (const visit of waiting) localStorage.setItem(`daohu:v1:visit:${visit.id}`, JSON.stringify({ schema: 1, visit, sync: { state: 'pending' }, step: 6 }));
    localStorage.setItem(`daohu:v1:visit:${draft.id}`, JSON.stringify({ schema: 1, visit: draft, sync: { state: 'draft' }, step: 2 }));
  }, { session, roster, waiting, draft });

  await page.goto(env.server.url + '/');
  await page.waitForSelector('[data-testid=household-list] li');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  const onServer = await serverVisits(MEMBER1);
  for (const v of waiting) assert.equal(onServer.filter((id) => id === v.id).length, 1, `${v.id} uploaded, once`);
  assert.ok(!onServer.includes(draft.id), 'the draft stays on the phone');

  const raw = await rawStorage(page);
  const prefix = `daohu:v1:a:${session.member.id}:`;
  assert.deepEqual(Object.keys(raw).filter((k) => /^daohu:v1:(visit|roster|outbox)/.test(k)), [], 'no record is left under the old keys');
  assert.equal(JSON.parse(raw[`${prefix}visit:${draft.id}`]).sync.state, 'draft', 'the draft is kept, not uploaded');
  assert.ok(raw[`${prefix}roster`], 'the roster moved with them');
  await page.goto(env.server.url + `/visit/${draft.id}`);
  await page.waitForSelector('[data-testid=step-title]');
  await context.close();
});
