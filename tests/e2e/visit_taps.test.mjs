// A routine visit with nothing to note (issue 21): at most 8 taps from the
// household list to "saved", and every tap's button already on screen, with no
// scrolling, at 360×640 and with the text at 26 px. And each section's step
// shows what the last visit left for next time, with its note.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, localRecords, recordVisit, MEMBER1, MEMBER2 } from './harness.mjs';

const env = useServerAndBrowser();

for (const textPx of [18, 26]) {
  test(`a routine visit takes at most 8 taps, each on screen without scrolling (text ${textPx} px)`, async () => {
    const { context, page } = await phone(env.browser);
    await signIn(page, env.server, MEMBER1, 10);
    // As a phone set to large text: the page's root size, which every size follows.
    await page.addStyleTag({ content: `html { font-size: ${textPx}px !important; }` });
    const viewport = page.viewportSize();
    let taps = 0;
    const tap = async (selector, what) => {
      const button = page.locator(selector).first();
      await button.waitFor();
      const box = await button.boundingBox();
      assert.ok(box, `${what}: shown`);
      assert.ok(box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width,
        `${what}: inside the 360×640 screen without scrolling (${JSON.stringify(box)})`);
      await button.click();
      taps += 1;
    };

    await tap('[data-testid=household-list] a.card', 'the first household');
    await tap('[data-testid=start-visit]', 'start the visit');
    for (let section = 1; section <= 5; section++) {
      await page.waitForSelector(`[data-testid=step-title] >> text=${section} / 7`);
      assert.match(await page.textContent('[data-testid=step-next]'), /已完成，下一项/);
      await tap('[data-testid=step-next]', `section ${section}: done, next`);
    }
    await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
    assert.match(await page.textContent('[data-testid=step-next]'), /没有问题，保存走访/);
    await tap('[data-testid=step-next]', 'no problems: save');
    await page.waitForSelector('[data-testid=saved-status]');
    assert.ok(taps <= 8, `${taps} taps`);

    // What was saved: every section done, nothing else.
    const id = page.url().split('/visit/')[1];
    const saved = JSON.parse((await localRecords(page))[`daohu:v1:visit:${id}`]);
    assert.deepEqual(saved.visit.sections.map((s) => s.state), ['done', 'done', 'done', 'done', 'done']);
    assert.deepEqual(saved.visit.problems, []);
    assert.notEqual(saved.sync.state, 'draft');
    await context.close();
  });
}

test("a section's step shows what the last visit left for next time, with its note, and ticks nothing", async () => {
  const { context, page } = await phone(env.browser);
  await signIn(page, env.server, MEMBER2, 10);
  await page.locator('[data-testid=household-list] a.card').first().click();
  const household = page.url();
  const first = await recordVisit(page, { state: '下次再办' }); // notes 第1项备注 … 第5项备注
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]').textContent === '0', null, { timeout: 20_000 });
  // The roster comes back with the visit (and its notes) once it is stored.
  await page.goto(household);
  await page.waitForSelector(`[data-testid=server-history] li[data-visit-id="${first}"]`);

  await page.click('[data-testid=start-visit]');
  await page.waitForSelector('[data-testid=step-title] >> text=1 / 7');
  assert.match(await page.textContent('[data-testid=last-time]'), /上次 \d{4}-\d{2}-\d{2}：下次再办。备注：第1项备注/);
  // Nothing from last time is pre-ticked: the member confirms what they see.
  assert.equal(await page.locator('.checklist input:checked').count(), 0);
  assert.equal(await page.getAttribute('button.state:has-text("已完成")', 'aria-checked'), 'false');
  await page.click('[data-testid=step-next]');
  await page.waitForSelector('[data-testid=step-title] >> text=2 / 7');
  assert.match(await page.textContent('[data-testid=last-time]'), /第2项备注/);
  await context.close();
});
