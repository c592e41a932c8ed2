// The household ledger's whole loop: the county adds a policy; a member's phone
// gets it with the roster and goes offline; at a visit the member marks it 应享未享
// and the house as needing repair; the phone uploads when the network is back;
// the village coordinator finds the household in the 应享未享 report; at the
// next visits the member marks it applying, then receiving, and it leaves the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useServerAndBrowser, phone, signIn, signInTo, waitForServiceWorker, pendingCount, axeFindings, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const COUNTY = { phone: '13800000029', password: 'daohu123' };
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

/** A visit with every section done in one tap each, with `atPolicy` and `atSentiment` run on their steps. */
async function visit(page, { atSentiment = async () => {}, atPolicy = async () => {} } = {}) {
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let step = 0; step < 5; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step + 1} / 7`);
    if (step === 1) await atSentiment();
    if (step === 2) await atPolicy();
    await page.click('[data-testid=step-next]');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
  await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=saved-status]');
}

/** Marks the policy `key` on the policy step (opening "more" if it sits there). */
async function mark(page, key, state) {
  const select = page.locator(`select[data-policy=${key}]`);
  if (!(await select.isVisible())) await page.click('[data-testid=policies] details summary');
  await select.selectOption(state);
}

test('a policy added by the county is marked at a visit offline and followed until received', async () => {
  const { server, browser } = env;
  const county = await server.login(COUNTY);
  const added = await server.api('/api/catalogue/changes', {
    method: 'POST', token: county,
    body: { change: { change: 'add', policy: { key: 'shuigai', name_zh: '改水补助', name_en: 'Water works grant', apply_days: 30, active: true } } },
  });
  assert.equal(added.status, 201);

  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await waitForServiceWorker(page);
  const household = (await server.api('/api/roster', { token: await server.login(MEMBER1) })).json.households[0].household;
  await context.setOffline(true);
  await page.waitForSelector('.net.offline');
  await page.locator('[data-testid=household-list] a.card', { hasText: household.head_name }).first().click();
  await visit(page, {
    atSentiment: async () => {
      assert.deepEqual(await axeFindings(page), [], 'the housing and water step passes axe');
      await page.selectOption('#housing', 'needs_repair');
      await page.fill('#people_at_home', '3');
      await page.locator('#people_at_home').blur();
      // The rest of the profile sits behind "more": illness, disability, income, road.
      await page.click('[data-testid=more-facts] summary');
      await page.fill('#chronic_ill', '1');
      await page.locator('#chronic_ill').blur();
      await page.fill('#disability-2', '1');
      await page.locator('#disability-2').blur();
      await page.check('[data-testid=income] input[name=crops]');
      await page.check('[data-testid=income] input[name=migrant_work]');
      await page.selectOption('#road', 'gravel');
      assert.deepEqual(await axeFindings(page), [], 'the profile\'s other facts pass axe');
    },
    atPolicy: async () => {
      await page.waitForSelector('[data-testid=policies]');
      await mark(page, 'shuigai', 'entitled_not_receiving');
      assert.deepEqual(await axeFindings(page), [], 'the policy step passes axe');
    },
  });
  assert.equal(await pendingCount(page), 1);
  const village = await server.login(VILLAGE);
  let gaps = await server.api('/api/ledger/gaps?policy=shuigai', { token: village });
  assert.equal(gaps.json.households.length, 0, 'nothing reached the server offline');

  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  gaps = await server.api('/api/ledger/gaps?policy=shuigai', { token: village });
  assert.deepEqual(gaps.json.households.map((h) => [h.household_id, h.state]), [[household.id, 'entitled_not_receiving']]);
  const ledger = await server.api(`/api/households/${household.id}/ledger`, { token: village });
  assert.deepEqual(ledger.json.current.map((e) => [e.change.field, e.change.value]),
    [['policy:shuigai', 'entitled_not_receiving'], ['people_at_home', '3'], ['housing', 'needs_repair'],
      ['chronic_ill', '1'], ['disability', '2'], ['income', 'crops,migrant_work'], ['road', 'gravel']]);

  // The village coordinator's report shows it.
  const c = await phone(browser);
  await c.page.setViewportSize({ width: 1280, height: 900 });
  await c.page.goto(server.url + '/login');
  await c.page.fill('#phone', VILLAGE.phone);
  await c.page.fill('#password', VILLAGE.password);
  await c.page.click('button[type=submit]');
  await c.page.waitForURL(/\/admin\/?$/);
  await c.page.goto(server.url + '/admin/gaps');
  await c.page.waitForSelector(`[data-testid=gap-households] tr[data-household="${household.id}"]`);
  assert.match(await c.page.textContent(`[data-testid=gap-households] tr[data-household="${household.id}"]`), /改水补助.*应享未享/s);
  // The dashboard's housing panel counts it, now and as recorded in the period (today's visit).
  await c.page.goto(server.url + '/admin');
  await c.page.waitForSelector('[data-testid=ledger-living] tbody tr');
  assert.match(await c.page.textContent('[data-testid=ledger-living]'), /住房\s*需要维修\s*1\s*1/);
  assert.match(await c.page.textContent('[data-testid=ledger-gaps]'), /应享未享 1（这段时间新记 1）/);
  await c.page.goto(server.url + '/admin/gaps');
  await c.page.waitForSelector('[data-testid=gap-counts]');
  // The ledger's download, opened by LibreOffice, holds the row.
  const [xlsx] = await Promise.all([c.page.waitForEvent('download'), c.page.click('[data-testid=dl-ledger-xlsx]')]);
  const dir = mkdtempSync(join(tmpdir(), 'daohu-ledger-'));
  const file = join(dir, 'ledger.xlsx');
  await xlsx.saveAs(file);
  execFileSync('soffice', [`-env:UserInstallation=file://${dir}/profile`, '--headless', '--convert-to',
    'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,1', '--outdir', dir, file]);
  // With a sheet chosen, LibreOffice names the file after it too (ledger-政策台账.csv).
  const csv = readdirSync(dir).find((f) => f.startsWith('ledger') && f.endsWith('.csv'));
  assert.ok(csv, `LibreOffice wrote a CSV: ${readdirSync(dir).join(' ')}`);
  const sheet = readFileSync(join(dir, csv), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.match(sheet[0], /^户主,门牌,网格,村,政策,情况/);
  assert.ok(sheet.some((line) => line.startsWith(`${household.head_name},`) && line.includes(',改水补助,应享未享,')), sheet.join('\n'));
  // The family conditions alone, a CSV file of their own: the housing row is there.
  const [living] = await Promise.all([c.page.waitForEvent('download'), c.page.click('[data-testid=dl-living-csv]')]);
  assert.match(living.suggestedFilename(), /\.csv$/);
  await living.saveAs(join(dir, 'living.csv'));
  const lines = readFileSync(join(dir, 'living.csv'), 'utf8').split('\r\n');
  assert.match(lines[0], /^\ufeff户主,门牌,网格,村,项目,情况/);
  assert.ok(lines.some((line) => line.startsWith(`${household.head_name},`) && line.includes(',住房,需要维修,')), lines.join('\n'));
  rmSync(dir, { recursive: true, force: true });

  // Next visit: the phone shows what was recorded; the member marks it applying.
  await page.goto(server.url + `/household/${household.id}`);
  await visit(page, {
    atSentiment: async () => {
      assert.equal(await page.inputValue('#housing'), 'needs_repair');
      // Last time's facts are there: "no change" is no tap.
      assert.equal(await page.inputValue('#chronic_ill'), '1');
      assert.equal(await page.inputValue('#road'), 'gravel');
      assert.ok(await page.isChecked('[data-testid=income] input[name=migrant_work]'));
    },
    atPolicy: async () => {
      const select = page.locator('select[data-policy=shuigai]');
      if (!(await select.isVisible())) await page.click('[data-testid=policies] details summary');
      assert.equal(await select.inputValue(), 'entitled_not_receiving');
      await select.selectOption('applying');
    },
  });
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  gaps = await server.api('/api/ledger/gaps?policy=shuigai', { token: village });
  assert.deepEqual(gaps.json.households.map((h) => [h.state, h.applying_since]), [['applying', new Date().toISOString().slice(0, 10)]]);
  assert.equal(gaps.json.policies.find((p) => p.key === 'shuigai').applying, 1);

  // And then receiving: the household leaves the list.
  await page.goto(server.url + `/household/${household.id}`);
  await visit(page, { atPolicy: async () => mark(page, 'shuigai', 'receiving') });
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  gaps = await server.api('/api/ledger/gaps?policy=shuigai', { token: village });
  assert.equal(gaps.json.households.length, 0);
  await c.page.reload();
  await c.page.waitForSelector('[data-testid=gap-counts]');
  assert.equal(await c.page.locator(`[data-testid=gap-households] tr[data-household="${household.id}"]`).count(), 0);
  await c.context.close();
  await context.close();
});

test("the console shows a household's ledger, who changed what and how, and takes a coordinator's correction", async () => {
  const { server, browser } = env;
  const household = (await server.api('/api/roster', { token: await server.login(MEMBER1) })).json.households[1].household;
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const page = await desk.newPage();
  await signInTo(page, server, VILLAGE, /\/admin\/?$/);
  await page.goto(server.url + '/admin/households');
  await page.fill('#hh-search', household.address);
  await page.locator(`tr[data-household="${household.address}"] [data-testid=open-ledger]`).click();
  await page.waitForSelector('[data-testid=household-ledger]');
  assert.match(await page.textContent('[data-testid=household-ledger] h2'), new RegExp(household.head_name));

  // Housing: dangerous, as a correction.
  await page.selectOption('#ledger-field', 'housing');
  await page.selectOption('#ledger-value', 'dangerous');
  await page.click('[data-testid=ledger-correct]');
  await page.waitForSelector('[data-testid=household-ledger] >> text=已更正');
  await page.waitForFunction(() => document.querySelector('[data-testid=ledger-current]').textContent.includes('危房'));
  const now = await page.textContent('[data-testid=ledger-current]');
  assert.match(now, /住房危房赵书记.*更正/);
  // 低保 applying since a given day.
  await page.selectOption('#ledger-field', 'policy:dibao');
  await page.selectOption('#ledger-value', 'applying');
  await page.fill('#ledger-since', '2026-11-02');
  await page.click('[data-testid=ledger-correct]');
  await page.waitForFunction(() => document.querySelector('[data-testid=ledger-current]').textContent.includes('帮办代办（自 2026-11-02 起）'));
  // Income sources, ticked as a list.
  await page.selectOption('#ledger-field', 'income');
  await page.check('[data-testid=household-ledger] [data-testid=income] input[name=pension]');
  await page.check('[data-testid=household-ledger] [data-testid=income] input[name=livestock]');
  assert.deepEqual(await axeFindings(page), [], 'the ledger panel with a list fact passes axe');
  await page.click('[data-testid=ledger-correct]');
  await page.waitForFunction(() => document.querySelector('[data-testid=ledger-current]').textContent.includes('养殖，养老金'));
  assert.equal(await page.locator('[data-testid=ledger-history] tbody tr').count(), 3, 'every change in the history');
  assert.deepEqual(await axeFindings(page), [], 'the ledger panel passes axe');

  const ledger = await server.api(`/api/households/${household.id}/ledger`, { token: await server.login(VILLAGE) });
  const current = Object.fromEntries(ledger.json.current.map((e) => [e.change.field, e.change]));
  assert.equal(current.housing.value, 'dangerous');
  assert.equal(current['policy:dibao'].value, 'applying');
  assert.equal(current['policy:dibao'].since, '2026-11-02');
  assert.equal(current.housing.visit_id ?? null, null, 'a correction, not a visit');
  assert.equal(current.income.value, 'livestock,pension');
  await desk.close();
});
