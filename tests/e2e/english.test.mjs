// English is complete: every screen of the phone app and the console, in
// English, shows no Chinese (characters or full-width punctuation) but names
// and data (household heads, places, notes: whatever the API sent, and what the
// member typed) and the language button's "中文".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, recordVisit, walkPhoneScreens, walkConsoleScreens, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const COORD = { phone: '13800000009', password: 'daohu123' };

const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

/**
 * Collects names and data: every string in the API's JSON answers to this page
 * (households, people, places, notes), which the interface may show as they are.
 */
function collectData(page) {
  const data = new Set();
  const walk = (v) => {
    if (typeof v === 'string') { if (CJK.test(v)) data.add(v); } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  page.on('response', async (r) => {
    if (!new URL(r.url()).pathname.startsWith('/api/') || !(r.headers()['content-type'] || '').includes('json')) return;
    try { walk(await r.json()); } catch { /* not JSON after all */ }
  });
  return data;
}

/** Chinese (characters or full-width punctuation) on the page besides names and data, with where it sits. */
const strayChinese = (page, data) => page.evaluate(({ data, cjk }) => {
  const han = new RegExp(cjk);
  // Longest first, so a name inside a longer place name goes with the place.
  const known = [...data].sort((a, b) => b.length - a.length);
  const bare = (s) => known.reduce((rest, d) => rest.split(d).join(' '), s);
  const found = [];
  const walk = (el) => {
    // The language button (lang="zh-CN"), the static sign-in copy and what is not shown.
    if (el.getAttribute('lang') === 'zh-CN' || el.id === 'boot') return;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'TEXTAREA'].includes(el.tagName)) return;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') return;
    // What people hear or see besides text: labels, titles, placeholders, alternative text.
    for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
      const v = el.getAttribute(a);
      if (v && han.test(bare(v))) found.push(`${el.tagName}[${a}]: ${v}`);
    }
    for (const c of el.childNodes) {
      if (c.nodeType === Node.ELEMENT_NODE) walk(c);
      else if (c.nodeType === Node.TEXT_NODE && han.test(bare(c.textContent))) found.push(`${el.tagName}: ${c.textContent.trim().slice(0, 80)}`);
    }
  };
  walk(document.body);
  return found;
}, { data: [...data], cjk: CJK.source });

async function check(page, data, where) {
  await page.waitForLoadState('networkidle').catch(() => {});
  const stray = await strayChinese(page, data);
  assert.deepEqual(stray, [], `Chinese on the English ${where}: ${stray.join(' | ')}`);
}

test('the phone app in English shows no Chinese but names and data', async () => {
  const { context, page } = await phone(env.browser);
  const data = collectData(page);
  await signIn(page, env.server, MEMBER1, 10);
  // A household with a past visit, a problem and notes, so every part of its page shows.
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  const problem = { category: 'water', text: '自来水管坏了' };
  await recordVisit(page, { state: '下次再办', problem, summary: '老人身体还好' });
  // What the member typed is data too.
  for (let s = 1; s <= 5; s++) data.add(`第${s}项备注`);
  data.add(problem.text).add('老人身体还好');
  await page.goto(env.server.url + '/');
  await page.click('button.lang');
  await page.waitForSelector('button.lang:has-text("中文")');
  // The list's one line of tags fits at 360 px in English too (short names there).
  const clipped = await page.evaluate(() => [...document.querySelectorAll('[data-testid=household-list] .tags')]
    .filter((row) => row.scrollWidth > row.clientWidth + 1 || [...row.children].some((t) => t.scrollWidth > t.clientWidth + 1))
    .map((row) => row.textContent));
  assert.deepEqual(clipped, [], 'tags cut off on the household list');
  await walkPhoneScreens(page, env.server, (where) => check(page, data, where));
  // The password page, a plain page outside the app, with its message shown.
  await page.goto(env.server.url + '/password.html');
  await page.waitForSelector('#change');
  await page.fill('#phone', MEMBER1.phone);
  await page.fill('#current', 'something-else-1');
  await page.fill('#new', 'tea-garden-2026');
  await page.fill('#again', 'tea-garden-2027');
  await page.click('#change button[type=submit]');
  await page.waitForSelector('#message:not([hidden])');
  assert.equal(await page.textContent('#message'), 'The two new passwords differ.');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await check(page, data, 'password page');
  await context.close();
});

test('the console in English shows no Chinese but names and data', async () => {
  const { context, page } = await phone(env.browser);
  const data = collectData(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(env.server.url + '/login');
  await page.click('button.lang');
  await page.waitForSelector('button[type=submit]:has-text("Sign in")');
  await page.fill('#phone', COORD.phone);
  await page.fill('#password', COORD.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  await walkConsoleScreens(page, env.server, (where) => check(page, data, where));
  await context.close();
});
