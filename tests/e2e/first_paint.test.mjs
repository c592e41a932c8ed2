// While the sign-in bundle's wasm is still arriving, a member with nobody signed
// in already sees the sign-in screen's heading and hint (account.html paints
// them); the bundle then draws the same texts in the same place and removes the
// static copy. A signed-in phone, or another screen, never shows that copy. A
// phone nobody has signed in on is sent from the visit app's address to the
// sign-in page before any of the visit app's code is fetched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, waitForServiceWorker, MEMBER1 } from './harness.mjs';

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

test('a phone nobody signed in on goes from / or /activities/ to the sign-in page without fetching their code', async () => {
  const { context, page } = await phone(env.browser);
  // The page's own requests (the service worker fetches every bundle for the
  // phone's cache meanwhile, which is meant).
  const fetched = [];
  page.on('request', (r) => { if (!r.serviceWorker()) fetched.push(new URL(r.url()).pathname); });
  await page.goto(env.server.url + '/');
  await page.waitForURL('**/login');
  await page.waitForSelector('#phone');
  const visitApp = fetched.filter((p) => /^\/daohu-[0-9a-f]{16}(_bg\.wasm|\.js)$/.test(p));
  const account = fetched.filter((p) => /^\/account\/daohu-account-[0-9a-f]{16}_bg\.wasm$/.test(p));
  assert.deepEqual(visitApp, [], `the visit app's code was fetched: ${fetched.join(' ')}`);
  assert.equal(account.length, 1, `the sign-in bundle was fetched once: ${fetched.join(' ')}`);

  // Signing in opens the visit app, which now loads (and fetches the roster).
  await page.fill('#phone', MEMBER1.phone);
  await page.fill('#password', MEMBER1.password);
  await page.click('button[type=submit]');
  await page.waitForURL(env.server.url + '/');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=household-list] li').length === 10);
  assert.ok(fetched.some((p) => /^\/daohu-[0-9a-f]{16}_bg\.wasm$/.test(p)) || await page.evaluate(() => !!navigator.serviceWorker.controller),
    'the visit app came from the network or the service worker');
  await context.close();

  // A volunteer's first visit to the activities' address: the same.
  const volunteer = await phone(env.browser);
  const asked = [];
  volunteer.page.on('request', (r) => { if (!r.serviceWorker()) asked.push(new URL(r.url()).pathname); });
  await volunteer.page.goto(env.server.url + '/activities/');
  await volunteer.page.waitForURL('**/login');
  await volunteer.page.waitForSelector('#phone');
  assert.deepEqual(asked.filter((p) => p.includes('daohu-activities-')), [], `the activities' code was fetched: ${asked.join(' ')}`);
  await volunteer.context.close();
});

test('the sign-in and sign-out pages open with no network once the phone has the app', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await waitForServiceWorker(page);
  await context.setOffline(true);
  await page.goto(env.server.url + '/signout');
  await page.waitForSelector('h1 >> text=退出登录');
  await page.goto(env.server.url + '/login');
  await page.waitForSelector('#phone');
  await page.goto(env.server.url + '/');
  await page.waitForSelector('[data-testid=household-list] li');
  await context.close();
});
