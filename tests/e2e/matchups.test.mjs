// 产业对接's loop: at a visit the member records what the family lives from and
// that it needs a market; the village coordinator finds the need unmatched in
// the console and matches it with the county's buyer; the member's phone shows
// the matchup at the next visit, where "no change" to livelihood and needs is
// no tap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, signInTo, waitForServiceWorker, axeFindings, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

/** A visit with every section done in one tap each, running `atIndustry` on the 产业对接 step. */
async function visit(page, atIndustry) {
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let step = 0; step < 5; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step + 1} / 7`);
    if (step === 3) await atIndustry();
    await page.click('[data-testid=step-next]');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
  await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=saved-status]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
}

test('a need recorded at a visit is matched in the console and the match reaches the phone', async () => {
  const { server, browser } = env;
  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await waitForServiceWorker(page);
  const household = (await server.api('/api/roster', { token: await server.login(MEMBER1) })).json.households[3].household;
  const open = async () => {
    await page.goto(server.url + '/');
    await page.locator('[data-testid=household-list] a.card', { hasText: household.head_name }).first().click();
  };
  await open();
  await visit(page, async () => {
    await page.check('[data-testid=livelihood] input[name=fruit_tea]');
    await page.check('[data-testid=needs] input[name=market]');
    assert.deepEqual(await axeFindings(page), [], 'the livelihood step passes axe');
  });

  // The village coordinator sees the need unmatched and matches it.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const c = await desk.newPage();
  await signInTo(c, server, VILLAGE, /\/admin\/?$/);
  await c.waitForSelector('[data-testid=unmatched-needs]');
  assert.match(await c.textContent('[data-testid=unmatched-needs]'), /销路 1/);
  await c.click('.tabs >> text=产业对接');
  const row = c.locator(`[data-testid=need-households] tr[data-household="${household.id}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /果茶种植.*销路/s);
  await row.locator('[data-testid=match]').click();
  await c.waitForSelector('[data-testid=matchup-form]');
  await c.selectOption('#m-resource', 'buyer:county_market');
  await c.fill('#m-note', '收购春茶 500 斤');
  assert.deepEqual(await axeFindings(c), [], 'the matchups screen with its form passes axe');
  await c.click('[data-testid=matchup-form] button[type=submit]');
  await c.waitForSelector('p.ok >> text=已保存对接');
  await c.waitForFunction((id) => {
    const r = document.querySelector(`[data-testid=need-households] tr[data-household="${id}"]`);
    return r && r.textContent.includes('对接中') && !r.classList.contains('overdue');
  }, household.id);
  await desk.close();

  // The phone picks the matchup up with its roster; the next visit shows it and
  // keeps last time's picks without a tap.
  // (The app fetches the roster when it opens; it is kept in local storage.)
  await page.goto(server.url + '/');
  await page.waitForFunction(() => Object.keys(localStorage).some((k) => (localStorage.getItem(k) || '').includes('县农产品助销中心')),
    null, { timeout: 20_000 });
  await open();
  // The household's page shows it too.
  await page.waitForSelector('[data-testid=household-matchups] li');
  assert.match(await page.textContent('[data-testid=household-matchups]'), /销路：县农产品助销中心（0571-8800 3456） · 对接中/);
  await visit(page, async () => {
    await page.waitForSelector('[data-testid=matchups] li');
    assert.match(await page.textContent('[data-testid=matchups]'), /销路：县农产品助销中心（0571-8800 3456） · 对接中 · .* · 收购春茶 500 斤/);
    assert.ok(await page.isChecked('[data-testid=livelihood] input[name=fruit_tea]'));
    assert.ok(await page.isChecked('[data-testid=needs] input[name=market]'));
  });
  const ledger = await server.api(`/api/households/${household.id}/ledger`, { token: await server.login(VILLAGE) });
  assert.equal(ledger.json.history.filter((e) => e.change.field === 'needs').length, 1, 'no change at the second visit, nothing sent');
  await context.close();
});
