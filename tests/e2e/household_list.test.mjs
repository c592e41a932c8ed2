// The household list draws only the rows on screen (issue 8): a grid leader's
// 1,000 households on a 360×640 phone, in Debian's headless Chromium. Scrolled
// from top to bottom, every household shows up exactly where the order puts it,
// the screen is never blank, and search, Tab and a tap still reach any of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, waitForServiceWorker, accountPrefix, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const N = 1000;
const pad = (i) => String(i).padStart(4, '0');

test('1,000 households: only the rows on screen are drawn, and every one is reachable in order', async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER1, 10);
  await waitForServiceWorker(page);
  // The roster the phone keeps, made a grid leader's: same household, new ids,
  // names and doorplates that sort in index order (all due, same groups).
  // Offline, so the app keeps this roster instead of fetching the real one.
  await context.setOffline(true);
  await page.evaluate(({ N, ns }) => {
    const r = JSON.parse(localStorage.getItem(ns + 'roster'));
    const h0 = r.households[0];
    const pad = (i) => String(i).padStart(4, '0');
    r.households = Array.from({ length: N }, (_, i) => {
      const id = h0.household.id.slice(0, 24) + i.toString(16).padStart(12, '0');
      return { ...h0, household: { ...h0.household, id, head_name: `户主${pad(i)}`, address: `幸福村${pad(i)}号` } };
    });
    localStorage.setItem(ns + 'roster', JSON.stringify(r));
  }, { N, ns: await accountPrefix(page) });
  await page.reload();
  await page.waitForSelector('[data-testid=household-list] li');
  assert.match(await page.textContent('.summary'), new RegExp(`^${N} 户`));
  const drawn = await page.locator('[data-testid=household-list] li').count();
  assert.ok(drawn > 0 && drawn <= 20, `${drawn} rows drawn for ${N} households`);

  // Top to bottom, a screen at a time: each drawn row sits at its place in the
  // order, the middle and the bottom of the screen are always on a card, and
  // the rows seen add up to every household once.
  const walkDown = (limit) => page.evaluate(async (limit) => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const seen = new Set();
    const misplaced = [];
    const blank = [];
    let most = 0;
    let set = null;
    const end = Math.min(limit, document.documentElement.scrollHeight);
    for (let y = 0; y <= end; y += 600) {
      window.scrollTo(0, y);
      await frame();
      const rows = [...document.querySelectorAll('[data-testid=household-list] li')];
      most = Math.max(most, rows.length);
      for (const li of rows) {
        const at = Number(li.getAttribute('aria-posinset'));
        set = li.getAttribute('aria-setsize');
        const title = li.querySelector('.card-title').textContent;
        if (title !== `户主${String(at - 1).padStart(4, '0')}`) misplaced.push([at, title]);
        seen.add(title);
      }
      const list = document.querySelector('[data-testid=household-list]').getBoundingClientRect();
      for (const sy of [320, 600]) {
        if (sy < list.top || sy > list.bottom - 20) continue;
        const el = document.elementFromPoint(180, sy);
        if (!el || !el.closest('[data-testid=household-list] li')) blank.push([y, sy]);
      }
    }
    return { seen: seen.size, misplaced: misplaced.slice(0, 5), blank: blank.slice(0, 5), most, set };
  }, limit);
  const walk = await walkDown(Infinity);
  assert.equal(walk.seen, N, 'every household was drawn on the way down');
  assert.deepEqual(walk.misplaced, [], 'rows sit at their place in the order');
  assert.deepEqual(walk.blank, [], 'the screen is never blank while scrolling');
  assert.ok(walk.most <= 20, `at most ${walk.most} rows drawn at once`);
  assert.equal(walk.set, String(N), 'screen readers hear the list’s length');

  // At the bottom the last household is there; a tap on a row deep in the
  // list opens that household.
  const last = page.locator(`[data-testid=household-list] li[aria-posinset="${N}"] .card-title`);
  assert.equal(await last.textContent(), `户主${pad(N - 1)}`);
  await page.evaluate(() => window.scrollTo(0, 500 * 164));
  await page.waitForSelector('[data-testid=household-list] li[aria-posinset="501"]');
  const mid = page.locator('[data-testid=household-list] li[aria-posinset="501"] a.card');
  await mid.click();
  await page.waitForSelector('h1');
  assert.equal(await page.textContent('h1'), `户主${pad(500)}`);

  // Back on the list, search reaches a household far down; clearing it brings all back.
  await page.goBack();
  await page.waitForSelector('#search');
  await page.fill('#search', `户主${pad(987)}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=household-list] li').length === 1);
  assert.equal(await page.textContent('[data-testid=household-list] .card-title'), `户主${pad(987)}`);
  assert.equal(await page.getAttribute('[data-testid=household-list] li', 'aria-setsize'), '1');
  await page.fill('#search', '');
  await page.waitForFunction((n) => document.querySelector('.summary').textContent.startsWith(`${n} 户`), N);

  // Keyboard: Tab from the first card walks on past the rows drawn at first.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForSelector('[data-testid=household-list] li[aria-posinset="1"]');
  await page.focus('[data-testid=household-list] li[aria-posinset="1"] a.card');
  for (let i = 0; i < 40; i++) await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.closest('li')?.getAttribute('aria-posinset'));
  assert.equal(focused, '41', 'the 41st household has the focus after 40 Tabs');

  // Larger text (the phone's text size turned up): rows grow with it, and the
  // list still draws the right rows at the right places, with no gaps.
  await page.addStyleTag({ content: 'html { font-size: 26px !important; }' });
  await page.evaluate(() => window.scrollTo(0, 1));
  await page.evaluate(() => window.scrollTo(0, 0));
  const tall = await page.evaluate(() => document.querySelector('[data-testid=household-list] li').getBoundingClientRect().height);
  assert.ok(tall > 200, `rows grew with the text: ${tall}px`);
  const big = await walkDown(60_000);
  assert.deepEqual(big.misplaced, [], 'rows sit at their place with larger text');
  assert.deepEqual(big.blank, [], 'no gaps with larger text');
  assert.ok(big.seen > 200, `${big.seen} households seen in the first 60,000 px`);
  await context.close();
});
