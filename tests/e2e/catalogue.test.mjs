// The county's policy catalogue in the console: the county coordinator adds a
// policy and retires it, each a new version kept on the server; a village
// coordinator sees the list but cannot change it. axe-clean with the form shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, axeFindings } from './harness.mjs';

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

  const village = await consoleAs(VILLAGE);
  await village.page.waitForSelector('tr[data-key=wuzhangai] >> text=已停用');
  assert.equal(await village.page.locator('[data-testid=policy-form]').count(), 0, 'no form for a village coordinator');
  assert.equal(await village.page.locator('[data-testid=catalogue] button').count(), 0, 'no buttons either');
  await village.context.close();
});
