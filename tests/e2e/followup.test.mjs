// The 回访: a problem a member raised is answered by the village; at the next
// visit to that household the phone asks whether the family is satisfied; the
// family is not, so the member writes their words, and once uploaded the problem
// is open again at its level and the dashboard's 满意率 counts the verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, signInTo, makeVisit, uuidv7, axeFindings, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

test('the next visit asks the family about an answered problem, and 不满意 opens it again', async () => {
  const { server, browser } = env;
  const token = await server.login(MEMBER1);
  const me = (await server.api('/api/me', { token })).json;
  const household = (await server.api('/api/roster', { token })).json.households[2].household;
  const raised = makeVisit(household.id, me.id, { problems: [{ description: '院墙裂缝' }] });
  const up = await server.api('/api/sync/visits', { token, method: 'POST', body: { device_id: uuidv7(), visits: [raised] } });
  assert.equal(up.json.receipts[0].status, 'stored');
  const problemId = raised.problems[0].id;
  const village = await server.login(VILLAGE);
  const answered = await server.api('/api/problems/events', {
    token: village, method: 'POST',
    body: { device_id: uuidv7(), events: [{ id: uuidv7(), problem_id: problemId, at: new Date().toISOString(), change: { kind: 'answer', text: '已请人修补' } }] },
  });
  assert.equal(answered.json.receipts[0].status, 'stored');

  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await page.locator('[data-testid=household-list] a.card', { hasText: household.head_name }).first().click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let step = 0; step < 5; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step + 1} / 7`);
    await page.click('[data-testid=step-next]');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
  // The problems step asks about last time's answered problem.
  const card = page.locator(`[data-problem="${problemId}"]`);
  await card.locator('[data-testid=feedback]').waitFor();
  assert.match(await card.textContent(), /院墙裂缝.*已请人修补/s);
  assert.deepEqual(await axeFindings(page), [], 'the follow-up passes axe');
  await card.locator('button[data-level=dissatisfied]').click();
  // Without the family's words nothing is recorded.
  await card.locator('[data-testid=feedback-dissatisfied]').click();
  await card.locator('[role=alert]').waitFor();
  await card.locator('textarea').fill('裂缝还在，下雨渗水');
  await card.locator('[data-testid=feedback-dissatisfied]').click();
  assert.match(await card.locator('[data-testid=feedback-recorded]').textContent(), /不满意/);
  await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=saved-status]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });

  // On the server: open again at the village, the family's words in its trail.
  let problem;
  for (let i = 0; i < 40; i++) {
    problem = (await server.api(`/api/problems/${problemId}`, { token: village })).json;
    if (problem.status.state === 'new') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(problem.status.state, 'new');
  assert.equal(problem.status.level, 'village');
  assert.deepEqual(problem.trail.at(-1).event.change, { kind: 'feedback', level: 'dissatisfied', words: '裂缝还在，下雨渗水' });

  // The village's dashboard counts it: no one satisfied of one verdict.
  // The coordinator's browser keeps China's time, as the county's offices do:
  // the dashboard's period ends with their today, and the verdict's moment
  // (UTC) is counted in China's days (a browser in UTC ended "today" at 16:00 UTC).
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const c = await desk.newPage();
  await signInTo(c, server, VILLAGE, /\/admin\/?$/);
  await c.waitForSelector('[data-testid=satisfaction] tbody tr');
  // The village, then its grid that had the verdict.
  const rows = await c.locator('[data-testid=satisfaction] tbody tr').allTextContents();
  assert.equal(rows.length, 2, rows.join(' | '));
  const cells = await c.locator('[data-testid=satisfaction] tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(cells.slice(1), ['0', '0', '1', '0.0%']);
  const grid = await c.locator('[data-testid=satisfaction] tbody tr').nth(1).locator('td').allTextContents();
  assert.deepEqual(grid.slice(1), ['0', '0', '1', '0.0%']);
  assert.deepEqual(await axeFindings(c), [], 'the dashboard passes axe');
  await desk.close();
  await context.close();
});
