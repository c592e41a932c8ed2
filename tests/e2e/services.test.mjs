// Services given at a visit (精准服务): the county adds a service kind in the
// console; a member's phone gets it with the roster and, at a visit, ticks two
// services, one with a short note; the visit uploads once; the village
// coordinator's dashboard counts them by kind and the visit log carries the note.
// The other sections' checklists are the catalogue's too: an item the county
// adds to 党员联系到户 is ticked at the visit, one it retires is gone, and the
// coordinator's visit card names the ticked items.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, signInTo, waitForServiceWorker, axeFindings, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const COUNTY = { phone: '13800000029', password: 'daohu123' };
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

test('a service kind the county adds is given at a visit and counted on the dashboard', async () => {
  const { server, browser } = env;
  // The county coordinator adds 法律咨询 from the catalogue screen.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const console_ = await desk.newPage();
  await signInTo(console_, server, COUNTY, /\/admin\/?$/);
  await console_.goto(server.url + '/admin/catalogue');
  await console_.waitForSelector('[data-testid=items-service] tr[data-key=medical]');
  // Adds an item to one of the catalogue's lists and waits for its row.
  const addItem = async (list, key, zh, en) => {
    await console_.selectOption('#i-list', list);
    await console_.fill('#i-key', key);
    await console_.fill('#i-zh', zh);
    await console_.fill('#i-en', en);
    await console_.click('[data-testid=item-form] button[type=submit]');
    await console_.waitForSelector(`[data-testid=items-${list}] tr[data-key=${key}]`);
  };
  await addItem('service', 'legal', '法律咨询', 'Legal advice');
  // 党员联系到户 gains 合影留念 and loses the contact card.
  await addItem('contact_check', 'photo_taken', '合影留念', 'Photo taken');
  await console_.click('[data-testid=items-contact_check] tr[data-key=contact_card] button');
  await console_.waitForSelector('[data-testid=items-contact_check] tr[data-key=contact_card] >> text=已停用');
  assert.equal(await console_.locator('[data-testid=items-contact_check] tbody tr').count(), 4);
  await console_.selectOption('#i-list', 'service');
  // A help resource takes a contact; the field shows for resources only.
  assert.equal(await console_.isVisible('#i-contact'), false);
  await console_.selectOption('#i-list', 'buyer');
  assert.equal(await console_.isVisible('#i-contact'), true);
  assert.deepEqual(await axeFindings(console_), [], 'the catalogue screen with its lists passes axe');
  // The five kinds a visit always offered are still there beside the new one.
  assert.equal(await console_.locator('[data-testid=items-service] tbody tr').count(), 6);
  // 特困 households are visited weekly from now on.
  await console_.fill('#iv-extreme_poverty', '7');
  await console_.click('[data-testid=intervals] button[type=submit]');
  await console_.waitForSelector('p.ok');
  const saved = await server.api('/api/catalogue', { token: await server.login(COUNTY) });
  assert.deepEqual(saved.json.intervals, { ordinary: 30, special: 14, groups: [['extreme_poverty', 7]] });
  await desk.close();

  const { context, page } = await phone(browser);
  await signIn(page, server, MEMBER1, 10);
  await waitForServiceWorker(page);
  const roster = (await server.api('/api/roster', { token: await server.login(MEMBER1) })).json.households;
  // The phone shows the county's interval for a 特困 household.
  const poor = roster.find((h) => h.household.special_groups.length === 1 && h.household.special_groups[0] === 'extreme_poverty').household;
  await page.goto(server.url + `/household/${poor.id}`);
  await page.waitForSelector('dl.facts');
  assert.match(await page.textContent('dl.facts'), /走访周期\s*7 天/);
  await page.goto(server.url + '/');
  const household = roster[2].household;
  await page.locator('[data-testid=household-list] a.card', { hasText: household.head_name }).first().click();
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let step = 0; step < 5; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step + 1} / 7`);
    if (step === 0) {
      // The county's checklist: its new item, not the retired one.
      assert.deepEqual(await page.locator('.checklist input[type=checkbox]').evaluateAll((xs) => xs.map((x) => x.name)),
        ['known_to_family', 'preferred_contact', 'photo_taken']);
      await page.check('.checklist input[name=photo_taken]');
    }
    if (step === 4) {
      // The note shows once a service is ticked.
      const note = page.getByLabel('就医服务：说明');
      assert.equal(await note.isVisible(), false);
      await page.check('.checklist input[name=medical]');
      await note.fill('陪同去乡卫生院复查');
      await note.blur();
      await page.check('.checklist input[name=legal]');
      assert.deepEqual(await axeFindings(page), [], 'the services step passes axe');
    }
    await page.click('[data-testid=step-next]');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
  await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=saved-status]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });

  // Stored once, with the note, and counted by kind for the village.
  const village = await server.login(VILLAGE);
  const log = await server.api(`/api/visits?household_id=${household.id}`, { token: village });
  const rows = log.json.rows.filter((r) => r.household_id === household.id);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].services, [{ kind: 'medical', note: '陪同去乡卫生院复查' }, { kind: 'legal', note: '' }]);
  assert.deepEqual(rows[0].details.find((d) => d.kind === 'member_contact').checked, ['photo_taken']);

  const c = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const board = await c.newPage();
  await signInTo(board, server, VILLAGE, /\/admin\/?$/);
  await board.waitForSelector('[data-testid=services] tbody tr');
  const text = await board.textContent('[data-testid=services]');
  assert.match(text, /就医服务\s*1\s*1/);
  assert.match(text, /法律咨询\s*1\s*1/);
  // The visit card names the ticked checklist item as the catalogue does.
  await board.click('.tabs >> text=走访记录');
  await board.locator('[data-testid=visit-log] tbody tr button.link').first().click();
  await board.waitForSelector('[data-testid=visit-detail] >> text=合影留念');
  await c.close();
  await context.close();
});
