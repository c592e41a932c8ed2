// The coordinators' volunteer-activities screen in the browser against the real
// server: activities uploaded through the real sync API (one over midnight, one
// with a missing check-out and a formula-looking description), the list, the
// hours per volunteer and team, one activity in full, a filter, a download, a new
// team, and who sees what (village, township; 绿水村 kept from 青山村).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { useServerAndBrowser, phone, uuidv7 } from './harness.mjs';

const PASSWORD = 'daohu123';
const CHEN = { phone: '13800000005', password: PASSWORD }; // 陈志愿者, 青山村志愿服务队
const ZHOU = { phone: '13800000021', password: PASSWORD }; // 周党员, 绿水村
const VILLAGE = { phone: '13800000009', password: PASSWORD }; // 赵书记, 青山村
const TOWNSHIP = { phone: '13800000019', password: PASSWORD }; // 孙镇长, 青山镇
const env = useServerAndBrowser();

// Days of last month: whatever today is, both activities fall in one month.
const now = new Date();
const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
const MONTH = last.toISOString().slice(0, 7);
const day = (n) => `${MONTH}-${String(n).padStart(2, '0')}`;
/** A China-time moment as a UTC instant. */
const china = (date, hm) => new Date(`${date}T${hm}:00+08:00`).toISOString();

function activity(recorder, fields) {
  return {
    id: uuidv7(), recorder_id: recorder, team_id: null, participants: [], others: 0, served: 0,
    household_ids: [], description: '', photos: [], recorded_at: new Date().toISOString(), ...fields,
  };
}

async function upload(token, device, path, key, records) {
  const r = await env.server.api(path, { token, method: 'POST', body: { device_id: device, [key]: records } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.deepEqual(r.json.receipts.map((x) => x.status), records.map(() => 'stored'), JSON.stringify(r.json));
}

before(async () => {
  await env.ready;
  const { server } = env;
  const token = await server.login(CHEN);
  const me = (await server.api('/api/me', { token })).json;
  const roster = (await server.api('/api/activity-roster', { token })).json;
  const team = roster.teams.find((t) => t.name === '青山村志愿服务队');
  assert.ok(team, 'the demo team');
  const liu = team.members.find((m) => m.name === '刘志愿者');
  assert.ok(liu);
  // A small real JPEG, made by the browser.
  const blank = await env.browser.newPage();
  const jpeg = Buffer.from(await blank.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 40;
    c.height = 30;
    c.getContext('2d').fillRect(0, 0, 40, 30);
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.8));
    return btoa(String.fromCharCode(...new Uint8Array(await blob.arrayBuffer())));
  }), 'base64');
  await blank.close();
  const photo = { id: uuidv7(), bytes: jpeg.length, sha256: createHash('sha256').update(jpeg).digest('hex') };
  // 22:00 → 02:00 the next day: 陈 checks in 22:10 and out 01:40 (3.5 h); 刘 is listed only (4 h).
  const night = activity(me.id, {
    team_id: team.id, kind: 'patrol', date: day(10), start: '22:00:00', end: '02:00:00', place: '村口',
    participants: [me.id, liu.id], others: 2, served: 30, description: '夜间巡逻',
  });
  // 09:00–11:00: 陈 checks in and never out (counted to 11:00: 2 h).
  const cleanup = activity(me.id, {
    team_id: team.id, kind: 'cleanup', date: day(12), start: '09:00:00', end: '11:00:00', place: '青山村小广场',
    participants: [me.id], served: 12, household_ids: roster.households.slice(0, 1).map((h) => h.id), description: '=1+1',
    photos: [photo],
  });
  await upload(token, me.id, '/api/sync/activities', 'activities', [night, cleanup]);
  const put = await fetch(`${server.url}/api/photos/${photo.id}?offset=0`, {
    method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: jpeg,
  });
  assert.equal(put.status, 200);
  assert.equal((await put.json()).complete, true);
  const check = (a, kind, at, location = null) => ({ id: uuidv7(), activity_id: a.id, volunteer_id: me.id, kind, at, location });
  await upload(token, me.id, '/api/sync/check-ins', 'check_ins', [
    check(night, 'in', china(day(10), '22:10'), { lat: 30.123456, lon: 120.5, accuracy_m: 15 }),
    check(night, 'out', china(day(11), '01:40')),
    check(cleanup, 'in', china(day(12), '09:00')),
  ]);
  // An activity in 绿水村 (周党员, no team).
  const zt = await server.login(ZHOU);
  const zhou = (await server.api('/api/me', { token: zt })).json;
  await upload(zt, zhou.id, '/api/sync/activities', 'activities', [
    activity(zhou.id, { kind: 'elderly_care', date: day(12), start: '14:00:00', end: '16:00:00', place: '绿水村敬老院' }),
  ]);
});

async function consoleAs(who) {
  // Tokyo, an hour ahead of China: the console shows moments in the browser's own zone.
  const { context, page } = await phone(env.browser, { timezoneId: 'Asia/Tokyo' });
  await page.setViewportSize({ width: 1024, height: 900 });
  await page.goto(env.server.url + '/login');
  await page.fill('#phone', who.phone);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/?$/);
  await page.click('.tabs >> text=志愿活动');
  await page.waitForURL(/\/admin\/activities$/);
  return { context, page };
}

const text = (page, sel) => page.locator(sel).first().textContent();

test('village coordinator: list, hours, one activity in full, filter, download, new team', async () => {
  const { context, page } = await consoleAs(VILLAGE);
  await page.waitForSelector('[data-testid=activity-total] >> text=共 2 次活动');
  const list = await text(page, '[data-testid=activity-list] tbody');
  assert.match(list, /治安巡逻/);
  assert.match(list, /22:00–02:00（次日）/);
  assert.match(list, /环境卫生整治/);
  assert.match(await text(page, '[data-testid=activity-list] tr:has-text("环境卫生整治")'), /1\/1 · 1/, 'photo in, one check-in');
  assert.doesNotMatch(list, /绿水村敬老院/, '绿水村 is not 赵书记\'s');

  // Hours: 3.5 h + 2 h for 陈 (one missing check-out), 4 h for 刘, 9.5 h for the team.
  const chen = await text(page, '[data-testid=hours-volunteers] tr[data-name=陈志愿者]');
  assert.match(chen, new RegExp(`${MONTH}\\s*5\\.5 小时\\s*2`));
  assert.match(chen, /有 1 次未签退，按活动结束时间计/);
  assert.match(await text(page, '[data-testid=hours-volunteers] tr[data-name=刘志愿者]'), /4\.0 小时/);
  assert.match(await text(page, '[data-testid=hours-teams] tr[data-name=青山村志愿服务队]'), /9\.5 小时\s*2/);
  assert.match(await text(page, '[data-testid=hours-chart]'), /9\.5 小时/);
  await page.click('button:has-text("按月份")');
  assert.match(await text(page, '[data-testid=hours-chart]'), new RegExp(`${MONTH}[\\s\\S]*9\\.5 小时`));

  // One activity in full: the formula-looking text is shown as typed.
  await page.locator('[data-testid=activity-list] tr', { hasText: '环境卫生整治' }).locator('button.link').click();
  await page.waitForSelector('[data-testid=activity-detail]');
  assert.equal((await text(page, '[data-testid=activity-description]')).trim(), '=1+1');
  const detail = await text(page, '[data-testid=activity-detail]');
  assert.match(detail, /青山村志愿服务队/);
  assert.match(detail, /陈志愿者 · 签到/);
  // The photo needs the session token: fetched by the page and shown from a blob: URL.
  const img = page.locator('[data-testid=activity-photo]');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=activity-photo]').naturalWidth === 40);
  assert.match(await img.getAttribute('src'), /^blob:/);
  assert.match(await img.getAttribute('alt'), /^活动照片：环境卫生整治/);
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=activity-detail]', { state: 'detached' });
  await page.locator('[data-testid=activity-list] tr', { hasText: '治安巡逻' }).locator('button.link').click();
  await page.waitForSelector('[data-testid=activity-detail]');
  const night = await text(page, '[data-testid=activity-checkins]');
  // Checked in 22:10 and out 01:40 China time: 23:10 and 02:40 in Tokyo.
  assert.match(night, /签到 · \d{4}-\d\d-10 23:10 · 位置 30\.12346, 120\.50000（±15 米）/);
  assert.match(night, /签退 · \d{4}-\d\d-11 02:40/);
  assert.match(await text(page, '[data-testid=activity-detail]'), /陈志愿者、刘志愿者/);
  await page.click('[data-testid=activity-detail] >> button:has-text("关闭")');

  // The filter narrows the list and the hours.
  await page.selectOption('#a-kind', 'patrol');
  await page.waitForSelector('[data-testid=activity-total] >> text=共 1 次活动');
  await page.waitForFunction(() => /3\.5 小时/.test(document.querySelector('[data-testid=hours-volunteers] tr[data-name=陈志愿者]')?.textContent));
  await page.selectOption('#a-kind', '');
  await page.waitForSelector('[data-testid=activity-total] >> text=共 2 次活动');

  // A download the browser saves as a file.
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=dl-xlsx]')]);
  assert.match(xlsx.suggestedFilename(), /\.xlsx$/);
  const file = await xlsx.path();
  assert.ok(statSync(file).size > 0);
  assert.equal(readFileSync(file).subarray(0, 2).toString(), 'PK', 'a real xlsx (zip) file');

  // A new team with one member.
  await page.selectOption('#team-unit', { label: '青山村' });
  await page.fill('#team-name', '青山村巡逻队');
  await page.locator('[data-testid=team-form] label.check', { hasText: '刘志愿者' }).locator('input').check();
  await page.click('[data-testid=team-form] button[type=submit]');
  await page.waitForSelector('[data-testid=teams] li >> text=青山村巡逻队');
  assert.match(await text(page, '[data-testid=teams] li:has-text("青山村巡逻队")'), /1 人：刘志愿者/);
  await context.close();
});

test('township coordinator sees both villages', async () => {
  const { context, page } = await consoleAs(TOWNSHIP);
  await page.waitForSelector('[data-testid=activity-total] >> text=共 3 次活动');
  assert.match(await text(page, '[data-testid=activity-list] tbody'), /绿水村敬老院/);
  assert.match(await text(page, '[data-testid=hours-volunteers] tr[data-name=周党员]'), /2\.0 小时/);
  await context.close();
});
