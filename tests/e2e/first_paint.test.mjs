// While the app's wasm is still arriving, a member with nobody signed in already
// sees the sign-in screen's heading and hint (index.html paints them); the app
// then draws the same texts in the same place and removes the static copy. A
// signed-in phone, or another screen, never shows that copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();

/** The visible heading, hints and their boxes of the sign-in screen. */
const screenOf = (page) => page.evaluate(() => {
  const visible = (el) => el && el.offsetParent !== null;
  const h1 = [...document.querySelectorAll('h1')].filter(visible);
  const hint = [...document.querySelectorAll('section.login p.hint')].filter(visible)[0];
  const box = (el) => { const r = el.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]; };
  return { h1: h1.map((e) => e.textContent), hint: hint ? hint.textContent : null, hintBox: hint ? box(hint) : null, boot: !!document.getElementById('boot') };
});

test('the sign-in screen is painted before the wasm arrives, then replaced by the same one', async () => {
  const { context, page } = await phone(env.browser);
  // Hold the wasm back, as a slow line does.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route(/_bg\.wasm$/, async (route) => { await held; await route.continue(); });
  await page.goto(env.server.url + '/login');
  await page.waitForSelector('#boot:not([hidden])');
  const before = await screenOf(page);
  assert.deepEqual(before.h1, ['登录']);
  assert.ok(before.hint && before.hint.includes('之后没有网也能记录走访'), JSON.stringify(before));

  release();
  await page.waitForSelector('#phone');
  const after = await screenOf(page);
  assert.equal(after.boot, false, 'the static copy is removed');
  assert.deepEqual(after.h1, ['登录'], 'one heading');
  assert.equal(after.hint, before.hint, 'the app says what the static copy said');
  assert.deepEqual(after.hintBox, before.hintBox, 'in the same place and size');
  await context.close();
});

test('a signed-in phone and other screens never show the static sign-in copy', async () => {
  const { context, page } = await phone(env.browser);
  await page.goto(env.server.url + '/');
  await signIn(page, env.server, MEMBER1, 10);
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route(/_bg\.wasm$/, async (route) => { await held; await route.continue(); });
  await page.goto(env.server.url + '/');
  await page.waitForLoadState('domcontentloaded');
  assert.equal(await page.locator('#boot').isHidden(), true, 'signed in: hidden');
  release();
  await page.waitForSelector('[data-testid=household-list] li');
  await context.close();

  const fresh = await phone(env.browser);
  let release2;
  const held2 = new Promise((r) => { release2 = r; });
  await fresh.page.route(/_bg\.wasm$/, async (route) => { await held2; await route.continue(); });
  await fresh.page.goto(env.server.url + '/enroll');
  await fresh.page.waitForLoadState('domcontentloaded');
  assert.equal(await fresh.page.locator('#boot').isHidden(), true, 'another screen: hidden');
  release2();
  await fresh.context.close();
});
