// On a household's page the visit button is always on screen: at 360×640, with
// the phone's text at 26 px, at the top of the page and scrolled to any point of
// its history, and tapping it starts the visit. So is an activity's 保存.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, signInTo, phoneState, makeVisit, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();

/** Whether the button lies wholly inside the viewport, and is the element there. */
const buttonOnScreen = (page, testid = 'start-visit') => page.evaluate((testid) => {
  const b = document.querySelector(`[data-testid=${testid}]`);
  const r = b.getBoundingClientRect();
  const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth && r.height >= 44;
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return { inside, onTop: b.contains(hit), top: Math.round(r.top), bottom: Math.round(r.bottom), page: document.documentElement.scrollHeight };
}, testid);

test("an activity's save button is on screen at any scroll of its long form", async () => {
  const { context, page } = await phone(env.browser);
  await signInTo(page, env.server, { phone: '13800000005', password: MEMBER1.password }, /\/activities\/?$/);
  await page.click('[data-testid=start-activity]');
  await page.waitForURL(/\/activities\/[0-9a-f-]{36}$/);
  await page.waitForSelector('[data-testid=activity-save]');
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height > 640 * 2, `the form is longer than two screens (${height})`);
  for (const at of [0, 0.5, 1]) {
    await page.evaluate((at) => window.scrollTo(0, at * (document.documentElement.scrollHeight - innerHeight)), at);
    const seen = await buttonOnScreen(page, 'activity-save');
    assert.ok(seen.inside && seen.onTop, `scrolled to ${at}: ${JSON.stringify(seen)}`);
  }
  await context.close();
});

test('the visit button is on screen at any scroll and at large text', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await page.locator('[data-testid=household-list] a.card').first().click();
  await page.waitForSelector('[data-testid=start-visit]');
  // Large text, as an older member sets it: the page grows well past one screen.
  await page.evaluate(() => { document.documentElement.style.fontSize = '26px'; });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height > 640 + 100, `the page should be longer than the screen at 26 px (${height})`);
  for (const at of [0, 0.5, 1]) {
    await page.evaluate((at) => window.scrollTo(0, at * (document.documentElement.scrollHeight - innerHeight)), at);
    const seen = await buttonOnScreen(page);
    assert.ok(seen.inside && seen.onTop, `scrolled to ${at}: ${JSON.stringify(seen)}`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.click('[data-testid=start-visit]');
  await page.waitForSelector('[data-testid=step-title]');
  await context.close();
});

test('the household page lists the latest three visits, and the rest on request', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  const me = await phoneState(page);
  const household = me.households[1];
  // Five visits on the server, on five days.
  const visits = [1, 2, 3, 4, 5].map((d) => makeVisit(household, me.memberId, { visitedOn: `2026-11-0${d}` }));
  const up = await env.server.api('/api/sync/visits', { token: me.token, method: 'POST', body: { device_id: '0190a0b0-0000-7000-8000-000000000001', visits } });
  assert.equal(up.status, 200);
  await page.goto(env.server.url + `/household/${household}`);
  await page.waitForSelector('[data-testid=server-history] li');
  const shown = async () => page.locator('[data-testid=server-history] li').evaluateAll((lis) => lis.map((li) => li.dataset.visitId));
  assert.deepEqual(await shown(), [visits[4].id, visits[3].id, visits[2].id], 'the latest three, newest first');
  assert.match(await page.textContent('[data-testid=history-more]'), /还有 2 次/);
  await page.click('[data-testid=history-more]');
  assert.deepEqual(await shown(), visits.map((v) => v.id).reverse());
  assert.equal(await page.locator('[data-testid=history-more]').count(), 0);
  await context.close();
});
