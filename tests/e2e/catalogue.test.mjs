// The county's policy catalogue in the console: the county coordinator adds a
// policy and retires it, each a new version kept on the server; a village
// coordinator changes none of the county's policies but adds the village's own,
// which another village does not see. axe-clean with the form shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, axeFindings, uuidv7 } from './harness.mjs';

const env = useServerAndBrowser();
const COUNTY = { phone: '13800000029', password: 'daohu123' };
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

async function consoleAs(who) {
  const { context, page } = await phone(env.browser);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(env.server.url + '/login');
  await page.fill('#phone', who.phone);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  await page.click('.tabs >> text=政策目录');
  await page.waitForSelector('[data-testid=catalogue] tbody tr');
  return { context, page };
}

test('the county coordinator adds a policy and retires it; each edit is a version', async () => {
  const { context, page } = await consoleAs(COUNTY);
  assert.match(await page.textContent('[data-testid=catalogue-version]'), /第 1 · 12 项在用/);
  assert.deepEqual(await axeFindings(page), [], 'the list and the form pass axe');

  await page.fill('#p-key', 'wuzhangai');
  await page.fill('#p-zh', '无障碍改造');
  await page.fill('#p-en', 'Accessibility works');
  await page.fill('#p-days', '60');
  await page.check('label.check:has-text("重残户") input');
  await page.click('[data-testid=policy-form] button[type=submit]');
  await page.waitForSelector('[data-testid=catalogue] tr[data-key=wuzhangai]');
  assert.match(await page.textContent('[data-testid=catalogue-version]'), /第 2 · 13 项在用/);
  assert.match(await page.textContent('tr[data-key=wuzhangai]'), /无障碍改造.*重残户.*60 天.*在用/s);

  // A code already used is refused in plain words; nothing changes.
  await page.fill('#p-key', 'dibao');
  await page.fill('#p-zh', '又一个低保');
  await page.fill('#p-en', 'Again');
  await page.click('[data-testid=policy-form] button[type=submit]');
  await page.waitForSelector('p.error >> text=已经用过');
  assert.match(await page.textContent('[data-testid=catalogue-version]'), /第 2 ·/);

  await page.click('tr[data-key=wuzhangai] button:has-text("停用")');
  await page.waitForSelector('tr[data-key=wuzhangai] >> text=已停用');
  await page.reload();
  await page.waitForSelector('tr[data-key=wuzhangai] >> text=已停用');
  assert.match(await page.textContent('[data-testid=catalogue-version]'), /第 3 · 12 项在用/);
  // Every version stays on the server, with the name it had.
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem('daohu:v1:session')).token);
  const v2 = await env.server.api('/api/catalogue/versions/2', { token });
  assert.equal(v2.json.policies.find((p) => p.key === 'wuzhangai').active, true);
  await context.close();

  // A village coordinator changes none of the county's policies, and adds the
  // village's own, which applies to its households alone and which it retires.
  const village = await consoleAs(VILLAGE);
  await village.page.waitForSelector('tr[data-key=wuzhangai] >> text=已停用');
  assert.equal(await village.page.locator('[data-testid=catalogue] button').count(), 0, 'no buttons on the county\'s policies');
  assert.match(await village.page.textContent('[data-testid=local-hint]'), /只适用于青山村以下/);
  await village.page.fill('#p-key', 'cun_jiangli');
  await village.page.fill('#p-zh', '村集体分红');
  await village.page.fill('#p-en', 'Village dividend');
  await village.page.click('[data-testid=policy-form] button[type=submit]');
  const own = village.page.locator('tr[data-key=cun_jiangli]');
  await own.waitFor();
  assert.match(await own.textContent(), /青山村/);
  assert.equal(await own.locator('button').count(), 1, 'the village retires its own');
  assert.deepEqual(await axeFindings(village.page), [], 'the village\'s view passes axe');
  const other = await env.server.login({ phone: '13800000021', password: 'daohu123' });
  const elsewhere = await env.server.api('/api/catalogue', { token: other });
  assert.equal(elsewhere.json.policies.some((p) => p.key === 'cun_jiangli'), false, '绿水村 does not see it');
  await village.context.close();
});

test('the village coordinator sees 应享未享 and overdue applications of the village', async () => {
  const member = await env.server.login({ phone: '13800000001', password: 'daohu123' });
  const roster = await env.server.api('/api/roster', { token: member });
  const [first, second] = roster.json.households.map((h) => h.household);
  const longAgo = new Date(Date.now() - 45 * 86400e3).toISOString().slice(0, 10);
  const change = (household, key, state, since = null) => ({
    id: uuidv7(), household_id: household.id, field: `policy:${key}`, value: state,
    ...(since ? { since } : {}), at: new Date().toISOString(),
  });
  const sent = await env.server.api('/api/sync/ledger', {
    method: 'POST', token: member,
    body: { device_id: uuidv7(), changes: [change(first, 'gaoling', 'entitled_not_receiving'), change(second, 'dibao', 'applying', longAgo)] },
  });
  assert.deepEqual(sent.json.receipts.map((r) => r.status), ['stored', 'stored']);

  const { context, page } = await consoleAs(VILLAGE);
  await page.click('.tabs >> text=应享未享');
  await page.waitForSelector('[data-testid=gap-households] tbody tr');
  assert.match(await page.textContent('[data-testid=gap-counts] tr[data-key=gaoling]'), /高龄补贴\s*1\s*0\s*0/);
  assert.match(await page.textContent('[data-testid=gap-counts] tr[data-key=dibao]'), /低保\s*0\s*1\s*1/);
  const rows = page.locator('[data-testid=gap-households] tbody tr');
  assert.equal(await rows.count(), 2);
  // The overdue application first.
  assert.equal(await rows.nth(0).getAttribute('data-household'), second.id);
  assert.match(await rows.nth(0).textContent(), /低保.*帮办代办.*已超期/s);
  assert.deepEqual(await axeFindings(page), [], 'the report passes axe');
  await page.selectOption('#gap-policy', 'gaoling');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=gap-households] tbody tr').length === 1);
  assert.equal(await rows.nth(0).getAttribute('data-household'), first.id);
  await context.close();
});
