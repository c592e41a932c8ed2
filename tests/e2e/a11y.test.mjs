// axe-core on every screen of the phone app (at 360×640) and the console:
// no serious or critical finding; on the phone, no tap target under 44 px.
// The household visited has a problem, notes and a visit left for next time,
// so every part of its screens is drawn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, recordVisit, walkPhoneScreens, walkConsoleScreens, CONSOLE_SCREENS, axeFindings, smallTargets, MEMBER2 } from './harness.mjs';

const env = useServerAndBrowser();
const COORD = { phone: '13800000009', password: 'daohu123' };
async function check(page, where, seen) {
  await page.waitForLoadState('networkidle').catch(() => {});
  const found = await axeFindings(page);
  seen.push(where);
  assert.deepEqual(found, [], `axe on ${where}: ${found.join(' | ')}`);
}

/** Older hands on a 360 px phone: every link, button and field at least 44 × 44 px. */
async function checkTargets(page, where) {
  const small = await smallTargets(page);
  assert.deepEqual(small, [], `tap targets under 44 px on ${where}: ${small.join(' | ')}`);
}

test('every phone screen passes axe with no serious or critical finding, and no tap target is under 44 px', async () => {
  const { context, page } = await phone(env.browser);
  const seen = [];
  await page.goto(env.server.url + '/login');
  await page.waitForSelector('#phone');
  // The check itself can fail: a button with no name, planted for a moment, is found.
  await page.evaluate(() => document.querySelector('main').insertAdjacentHTML('beforeend', '<button id="planted"></button>'));
  assert.ok((await axeFindings(page)).some((f) => f.startsWith('button-name (critical)')), 'axe finds the planted button');
  await page.evaluate(() => document.getElementById('planted').remove());
  // So can the size check: a 20 px link, planted for a moment, is found.
  await page.evaluate(() => document.querySelector('main').insertAdjacentHTML('beforeend', '<a id="planted" href="/">小</a>'));
  assert.ok((await smallTargets(page)).some((t) => t.startsWith('a "小"')), 'the planted small link is found');
  await page.evaluate(() => document.getElementById('planted').remove());
  await check(page, 'sign-in', seen);
  await checkTargets(page, 'sign-in');
  await page.goto(env.server.url + '/password.html');
  await page.waitForSelector('#change');
  await check(page, 'password', seen);
  await checkTargets(page, 'password');
  await signIn(page, env.server, MEMBER2, 10);
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  await recordVisit(page, { state: '下次再办', problem: { category: 'road', text: '村口路灯坏了' }, summary: '一切正常' });
  await walkPhoneScreens(page, env.server, async (where) => {
    await check(page, where, seen);
    await checkTargets(page, where);
  });
  assert.equal(seen.length, 16, seen.join(', '));
  await context.close();
});

test('every console screen passes axe with no serious or critical finding', async () => {
  const { context, page } = await phone(env.browser);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(env.server.url + '/login');
  await page.fill('#phone', COORD.phone);
  await page.fill('#password', COORD.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  const seen = [];
  await walkConsoleScreens(page, env.server, (where) => check(page, where, seen));
  assert.equal(seen.length, CONSOLE_SCREENS.length);
  assert.ok(seen.length >= 11, "every console screen, the 应享未享 report too");
  await context.close();
});
