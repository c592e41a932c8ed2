// A problem raised at the door with no signal goes up village → township →
// county, is answered by the county, and the answer reaches the member's
// phone; the member records that the family was told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, recordVisit, uuidv7, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const VILLAGE = { phone: '13800000009', password: 'daohu123' };
const TOWNSHIP = { phone: '13800000019', password: 'daohu123' };
const COUNTY = { phone: '13800000029', password: 'daohu123' };

async function consoleAs(who) {
  const { context, page } = await phone(env.browser);
  await page.setViewportSize({ width: 1024, height: 900 });
  await page.goto(env.server.url + '/login');
  await page.fill('#phone', who.phone);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  await page.click('.tabs >> text=群众诉求');
  return { context, page };
}

test('offline problem → escalated twice → answered by the county → shown on the phone', async () => {
  const { server } = env;
  const m = await phone(env.browser);
  await signIn(m.page, server, MEMBER1, 10);
  await m.context.setOffline(true);
  const head = await m.page.locator('[data-testid=household-list] .card-title').first().textContent();
  await m.page.locator('[data-testid=household-list] a.card').first().click();
  await recordVisit(m.page, { problem: { category: 'water', text: '吃水井干了，需要打新井' } });
  await m.context.setOffline(false);
  await m.page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });

  // The village sees it in its queue and sends it up.
  const v = await consoleAs(VILLAGE);
  const card = v.page.locator('.card', { hasText: '吃水井干了' });
  await card.waitFor();
  assert.match(await card.locator('[data-testid=queue-state]').textContent(), /村级/);
  await card.locator('textarea').fill('村里打不了井，请镇里协调');
  await card.locator('[data-testid=escalate]').click();
  await v.page.locator('.card', { hasText: '吃水井干了' }).locator('[data-testid=queue-state] >> text=乡镇级').waitFor();

  // The township sends it up (through the API, as its console would).
  const tToken = await server.login(TOWNSHIP);
  const list = await server.api('/api/problems?open=true', { token: tToken });
  const problem = list.json.find((p) => p.description.includes('吃水井干了'));
  assert.ok(problem, 'the township sees what came up to it');
  const sent = await server.api('/api/problems/events', {
    token: tToken, method: 'POST',
    body: { device_id: uuidv7(), events: [{ id: uuidv7(), problem_id: problem.id, at: new Date().toISOString(), change: { kind: 'escalate', note: '需要县水利局' } }] },
  });
  assert.equal(sent.json.receipts[0].status, 'stored');

  // The village can no longer act on it: it sits above them now.
  const vToken = await server.login(VILLAGE);
  const late = await server.api('/api/problems/events', {
    token: vToken, method: 'POST',
    body: { device_id: uuidv7(), events: [{ id: uuidv7(), problem_id: problem.id, at: new Date().toISOString(), change: { kind: 'answer', text: '村里答复' } }] },
  });
  assert.equal(late.json.receipts[0].status, 'rejected');

  // The county answers in its console.
  const c = await consoleAs(COUNTY);
  const ccard = c.page.locator('.card', { hasText: '吃水井干了' });
  await ccard.waitFor();
  assert.match(await ccard.locator('[data-testid=queue-state]').textContent(), /县级/);
  await ccard.locator('textarea').fill('县水利局下周来打新井');
  await ccard.locator('[data-testid=answer]').click();
  await c.page.locator('[data-testid=problem-count] >> text=0').waitFor();

  // The member's phone shows the answer after the next sync, and records that the family was told.
  await m.page.goto(server.url + '/');
  await m.page.waitForSelector('.tag.answered');
  await m.page.locator('[data-testid=household-list] a.card', { hasText: head }).click();
  await m.page.waitForSelector('[data-testid=problem-answer] >> text=县水利局下周来打新井');
  assert.match(await m.page.textContent('[data-testid=problem-state]'), /县级/);
  await m.page.click('[data-testid=family-told]');
  await m.page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  const after = await server.api(`/api/problems/${problem.id}`, { token: await server.login(COUNTY) });
  assert.equal(after.json.status.family_told, true);
  assert.equal(after.json.status.state, 'resolved');
  assert.ok(after.json.trail.length >= 4, 'escalate, escalate, answer, family told are all in the trail');

  for (const x of [m, v, c]) await x.context.close();
});
