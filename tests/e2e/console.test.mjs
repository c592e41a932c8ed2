// The coordinators' console in the browser against the real server: the
// dashboard's coverage, the visit log with a filter and a visit opened in
// full, downloads that arrive as real files, and the weekly meeting sheet.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { useServerAndBrowser, phone, signIn, recordVisit, makeVisit, MEMBER1, MEMBER2 } from './harness.mjs';

const COORD = { phone: '13800000009', password: 'daohu123' };
// Today 00:43 UTC is 08:43 in China (UTC+8, no summer time): the console shows the browser's zone.
const RECORDED_AT = new Date(new Date().setUTCHours(0, 43, 0, 0));
const CHINA_DAY = RECORDED_AT.toISOString().slice(0, 10);
const env = useServerAndBrowser();

before(async () => {
  await env.ready;
  const { server } = env;
  // Visits from two members of the village, uploaded through the real sync API.
  for (const who of [MEMBER1, MEMBER2]) {
    const token = await server.login(who);
    const me = (await server.api('/api/me', { token })).json;
    const roster = (await server.api('/api/roster', { token })).json;
    const hh = roster.households.map((h) => h.household.id);
    const visits = [
      makeVisit(hh[0], me.id, { summary: '=1+1', problems: [{ description: '屋顶漏雨' }] }),
      makeVisit(hh[1], me.id, { states: ['done', 'done', 'next_time', 'not_applicable', 'done'], summary: '政策卡已发', recordedAt: RECORDED_AT }),
    ];
    const r = await server.api('/api/sync/visits', { token, method: 'POST', body: { device_id: me.id, visits } });
    assert.equal(r.status, 200);
    assert.ok(r.json.receipts.every((x) => x.status === 'stored'));
  }
});


test('dashboard, visit log, downloads and the weekly sheet', async () => {
  const { server, browser } = env;
  const { context, page } = await phone(browser, { timezoneId: 'Asia/Shanghai' });
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.goto(server.url + '/login');
  await page.fill('#phone', COORD.phone);
  await page.fill('#password', COORD.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);

  // 4 of the village's 60 households visited.
  await page.waitForSelector('[data-testid=coverage-total]');
  assert.match(await page.textContent('[data-testid=coverage-total]'), /4\/60/);
  const grid1 = await page.textContent('[data-testid=coverage-table] tr[data-unit=第一网格]');
  assert.match(grid1, /第一网格\s*20\s*2\s*10/);
  assert.ok(await page.locator('svg.chart').count() >= 2, 'bar and line charts are drawn');
  // On an office screen the console uses the width, and shows no outbox count.
  await page.setViewportSize({ width: 1280, height: 800 });
  const width = await page.evaluate(() => document.querySelector('main').getBoundingClientRect().width);
  assert.ok(width > 1000, `the console is ${width} px wide on a 1280 px screen`);
  assert.equal(await page.locator('.outbox-link').isVisible(), false, 'no 待上传 badge in the console');
  await page.setViewportSize({ width: 1024, height: 800 });
  // Every household not visited is overdue, special groups first (56 of 60; the
  // demo village's special-group households are among them).
  const overdue = await page.locator('[data-testid=overdue] li').allTextContents();
  assert.equal(overdue.length, 56);
  const special = overdue.map((li) => /低保户|特困|重病|重残|空巢|留守/.test(li));
  assert.ok(special[0] && !special[special.length - 1], 'both kinds listed');
  assert.deepEqual(special, [...special].sort((a, b) => b - a), 'special groups first');
  // The problems table says what its columns are.
  assert.deepEqual(await page.locator('[data-testid=problem-levels] th').allTextContents(), ['级别', '未办结', '已超期']);

  // Visit log: all four, then filtered to the policy section left for next time.
  await page.click('.tabs >> text=走访记录');
  await page.waitForSelector('[data-testid=visit-total] >> text=共 4');
  // The search finds the two visits by their problem's words (their summaries say nothing of them).
  await page.fill('#f-q', '漏雨');
  await page.press('#f-q', 'Enter');
  await page.waitForSelector('[data-testid=visit-total] >> text=共 2');
  await page.fill('#f-q', '');
  await page.press('#f-q', 'Enter');
  await page.waitForSelector('[data-testid=visit-total] >> text=共 4');
  await page.selectOption('#f-section', 'PolicyDelivered');
  await page.selectOption('#f-state', 'NextTime');
  await page.waitForSelector('[data-testid=visit-total] >> text=共 2');
  await page.locator('[data-testid=visit-log] tbody tr button.link').first().click();
  await page.waitForSelector('[data-testid=visit-detail] >> text=政策落实到户 · 下次再办');
  // The phone's time in the browser's zone (Asia/Shanghai here), as the download has it, not UTC.
  assert.match(await page.textContent('[data-testid=visit-detail]'), new RegExp(`手机时间 ${CHINA_DAY} 08:43`));
  await page.click('[data-testid=visit-detail] button');

  // Downloads of exactly what the filter shows, as files the browser saves.
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=dl-xlsx]')]);
  assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
  const xbytes = readFileSync(await xlsx.path());
  assert.equal(xbytes.subarray(0, 2).toString(), 'PK', 'a real xlsx (zip) file');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=dl-csv]')]);
  const text = readFileSync(await csv.path(), 'utf8');
  assert.ok(text.startsWith('\ufeff'), 'UTF-8 byte-order mark for Excel and WPS');
  const lines = text.trim().split(/\r?\n/);
  assert.match(lines[0], /走访日期/);
  assert.equal(lines.length, 1 + 2, 'header plus the two filtered visits');
  assert.ok(lines.every((l) => !l.includes(',=1+1')), 'no cell starts with a bare =');

  // Weekly meeting sheet: one page per grid.
  await page.click('.tabs >> text=碰头会');
  await page.waitForSelector('[data-testid=sheet-page]');
  assert.equal(await page.locator('[data-testid=sheet-page]').count(), 3);
  assert.match(await page.textContent('[data-testid=sheet-page] >> nth=0'), /屋顶漏雨/);
  // And the households due this week, per grid: the 18 of the first grid's 20 not visited.
  assert.equal(await page.locator('[data-testid=sheet-page] >> nth=0').locator('[data-testid=sheet-due] tbody tr').count(), 18);
  // The title reads "<from> 至 <to>", as a meeting record is headed.
  assert.match(await page.textContent('[data-testid=sheet-page] h2 >> nth=0'), /民情碰头会 \d{4}-\d{2}-\d{2} 至 \d{4}-\d{2}-\d{2}/);
  await context.close();
});

test("a phone's last-resort export file is imported by the coordinator exactly once", async () => {
  const { server, browser } = env;
  const m = await phone(browser);
  await signIn(m.page, server, MEMBER1, 10);
  await m.context.setOffline(true);
  await m.page.locator('[data-testid=household-list] a.card').nth(5).click();
  const id = await recordVisit(m.page, { summary: '手机一直没信号' });
  await m.page.goto(server.url + '/outbox').catch(() => {});
  const [download] = await Promise.all([m.page.waitForEvent('download'), m.page.click('[data-testid=export-outbox]')]);
  const file = await download.path();
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.format, 'daohu-outbox/1');
  assert.deepEqual(exported.visits.map((v) => v.id), [id]);

  const { context, page } = await phone(browser);
  await page.goto(server.url + '/login');
  await page.fill('#phone', COORD.phone);
  await page.fill('#password', COORD.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  await page.click('.tabs >> text=导入花名册');
  for (const expected of [/新存入 1/, /已有 1/]) {
    await page.setInputFiles('#outbox-file', file);
    await page.click('[data-testid=import-outbox]');
    await page.waitForSelector(`[data-testid=outbox-import-result]`);
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('[data-testid=outbox-import-result]').textContent), expected.source);
  }
  const token = await server.login(COORD);
  const history = await server.api(`/api/visits?q=${encodeURIComponent('手机一直没信号')}`, { token });
  assert.equal(history.json.total, 1, 'stored once');
  for (const x of [m, { context }]) await x.context.close();
});
