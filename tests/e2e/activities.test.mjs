// Volunteer activities on the phone: an activity with two photos recorded
// offline (check-in and check-out with the location), the page reloaded with
// no network, then uploaded by itself; the server holds the record once and
// the photos byte for byte. And a full phone: a new photo is refused in plain
// words and nothing already stored changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { useServerAndBrowser, phone, waitForServiceWorker, uuidv7, accountPrefix, waitForRecord } from './harness.mjs';

const env = useServerAndBrowser();
const VOLUNTEER = { phone: '13800000005', password: 'daohu123' };
const VILLAGE = { phone: '13800000009', password: 'daohu123' };

async function signInVolunteer(page, server) {
  await page.goto(server.url + '/login');
  await page.fill('#phone', VOLUNTEER.phone);
  await page.fill('#password', VOLUNTEER.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/activities\/?$/);
  await page.waitForSelector('[data-testid=start-activity]');
  // Kinds, teams and households arrive with the activity roster.
  await waitForRecord(page, 'activity-roster');
}

/** A JPEG made in the page (a real camera-sized picture), as a file for the input. */
async function makeJpeg(page, w, h, hue) {
  const b64 = await page.evaluate(({ w, h, hue }) => {
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const g = c.getContext('2d');
    for (let i = 0; i < 40; i++) {
      g.fillStyle = `hsl(${(hue + i * 9) % 360} 70% ${30 + (i % 5) * 10}%)`;
      g.fillRect((i * 97) % w, (i * 53) % h, w / 3, h / 4);
    }
    return c.toDataURL('image/jpeg', 0.95).split(',')[1];
  }, { w, h, hue });
  return { name: `photo-${hue}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') };
}

/** The photos this phone keeps in IndexedDB for the signed-in account: id → { sha256, width, height, bytes }. */
async function keptPhotos(page) {
  return page.evaluate(async () => {
    // Each account's photos have a database of their own (src/storage.rs, photo_db).
    const name = 'daohu-' + JSON.parse(localStorage.getItem('daohu:v1:session')).member.id;
    const db = await new Promise((res, rej) => { const r = indexedDB.open(name); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const store = db.transaction('photos').objectStore('photos');
    // Both reads in the one transaction, before any other await ends it.
    const [keys, blobs] = await Promise.all([store.getAllKeys(), store.getAll()].map((r) => new Promise((res) => { r.onsuccess = () => res(r.result); })));
    db.close();
    const out = {};
    for (let i = 0; i < keys.length; i++) {
      const blob = blobs[i];
      const buf = await blob.arrayBuffer();
      const hash = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', buf)), (b) => b.toString(16).padStart(2, '0')).join('');
      const bmp = await createImageBitmap(blob);
      out[keys[i]] = { sha256: hash, width: bmp.width, height: bmp.height, bytes: buf.byteLength, type: blob.type };
    }
    return out;
  });
}

async function activityRecords(page) {
  const prefix = await accountPrefix(page);
  return page.evaluate((prefix) => {
    const out = {};
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k.startsWith(prefix + 'activity:') || k.startsWith(prefix + 'checkin:')) out['daohu:v1:' + k.slice(prefix.length)] = localStorage.getItem(k);
    }
    return out;
  }, prefix);
}

test('an activity with two photos, recorded offline and reloaded, uploads once; photos arrive byte for byte', async () => {
  const { server } = env;
  const { context, page } = await phone(env.browser);
  await context.grantPermissions(['geolocation'], { origin: server.url });
  await context.setGeolocation({ latitude: 27.8, longitude: 113.1, accuracy: 20 });
  await signInVolunteer(page, server);
  await waitForServiceWorker(page);
  await page.check('[data-testid=geo-allowed]');

  await context.setOffline(true);
  await page.click('[data-testid=start-activity]');
  await page.waitForURL(/\/activities\/[0-9a-f-]{36}$/);
  const id = page.url().split('/activities/')[1];
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=check-ins] li').length === 1);
  await page.selectOption('[data-testid=a-kind]', 'patrol');
  await page.fill('[data-testid=a-place]', '青山村村委会到三组');
  await page.fill('[data-testid=a-served]', '35');
  await page.fill('[data-testid=a-others]', '2');
  await page.fill('[data-testid=a-desc]', '夜间巡逻，检查了三组的消防通道');
  const big = await makeJpeg(page, 2400, 1800, 10);
  const tall = await makeJpeg(page, 900, 1600, 200);
  await page.setInputFiles('[data-testid=a-gallery]', [big, tall]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-list] li').length === 2, null, { timeout: 20_000 });
  await page.click('[data-testid=check-button]'); // check out
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=check-ins] li').length === 2);
  await page.click('[data-testid=activity-save]');
  await page.waitForSelector('[data-testid=activity-note]');

  // Reload with no network: the app, the record and both photos are still there.
  await page.reload();
  await page.waitForSelector('[data-testid=activity-summary]');
  assert.match(await page.textContent('[data-testid=activity-sync]'), /等待上传/);
  assert.equal(await page.locator('[data-testid=photo-list] li').count(), 2);
  assert.equal(await page.textContent('[data-testid=pending-count]'), '3', 'one activity and two check-ins wait');
  const stored = JSON.parse((await activityRecords(page))[`daohu:v1:activity:${id}`]);
  assert.equal(stored.sync.state, 'pending');
  assert.equal(stored.activity.photos.length, 2);
  const kept = await keptPhotos(page);
  for (const p of stored.activity.photos) {
    const k = kept[p.id];
    assert.ok(k, 'each photo is in IndexedDB');
    assert.equal(k.sha256, p.sha256, 'the record names the bytes kept');
    assert.equal(k.bytes, p.bytes);
    assert.equal(k.type, 'image/jpeg');
    assert.ok(Math.max(k.width, k.height) <= 1280, `shrunk to a long side of 1280 (${k.width}×${k.height})`);
  }
  const longSides = Object.values(kept).map((k) => Math.max(k.width, k.height)).sort();
  assert.deepEqual(longSides, [1280, 1280], 'both were larger, both now 1280 on the long side');

  // The visit app (another bundle, also offline) counts them in the same outbox.
  await page.goto(server.url + '/outbox');
  await page.waitForSelector('[data-testid=outbox-activities]');
  assert.equal(await page.textContent('[data-testid=pending-count]'), '3');
  assert.match(await page.textContent('[data-testid=outbox-activities]'), /^3 条志愿活动记录/);

  // Network back: everything uploads by itself.
  await context.setOffline(false);
  await page.goto(server.url + '/activities');
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]')?.textContent === '0', null, { timeout: 30_000 });
  assert.match(await page.textContent('[data-testid=photos-waiting]'), /^0 /);
  const after = JSON.parse((await activityRecords(page))[`daohu:v1:activity:${id}`]);
  assert.equal(after.sync.state, 'stored');
  assert.deepEqual(after.photo_states, ['uploaded', 'uploaded']);
  assert.deepEqual(await keptPhotos(page), {}, 'uploaded photos no longer take room on the phone');

  // The village coordinator sees it once, with both check-ins and the photos as they were taken.
  const token = await server.login(VILLAGE);
  const list = await server.api('/api/activities', { token });
  assert.equal(list.status, 200);
  assert.equal(list.json.filter((a) => a.id === id).length, 1, 'stored exactly once');
  const detail = await server.api(`/api/activities/${id}`, { token });
  assert.equal(detail.status, 200);
  assert.equal(detail.json.activity.served, 35);
  assert.equal(detail.json.check_ins.length, 2);
  assert.ok(detail.json.check_ins.every((c) => c.location && Math.abs(c.location.lat - 27.8) < 1e-6), 'location recorded with the check-ins');
  for (const p of stored.activity.photos) {
    const r = await fetch(`${server.url}/api/photos/${p.id}/content`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(bytes.length, p.bytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), kept[p.id].sha256, 'byte for byte what the phone kept');
  }
  await context.close();
});

test('a photo upload cut off mid-way resumes where the server stopped, and the photo arrives whole', async () => {
  const { server } = env;
  const { context, page } = await phone(env.browser);
  await signInVolunteer(page, server);
  // Noise does not compress: a photo of several 256 KiB chunks even after shrinking.
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 1600; c.height = 1200;
    const g = c.getContext('2d');
    const img = g.createImageData(1600, 1200);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i % 4 === 3) ? 255 : Math.floor(Math.random() * 256);
    g.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.95).split(',')[1];
  });
  const puts = [];
  let cut = false;
  await page.route('**/api/photos/**', async (route) => {
    const req = route.request();
    if (req.method() !== 'PUT') return route.continue();
    const offset = Number(new URL(req.url()).searchParams.get('offset'));
    puts.push(offset);
    if (offset > 0 && !cut) {
      // The server takes the chunk, then the answer is lost on the way back.
      cut = true;
      await route.fetch();
      return route.abort('connectionreset');
    }
    return route.continue();
  });
  await page.click('[data-testid=record-activity]');
  await page.waitForURL(/\/activities\/[0-9a-f-]{36}$/);
  const id = page.url().split('/activities/')[1];
  await page.selectOption('[data-testid=a-kind]', 'elderly_care');
  await page.fill('[data-testid=a-place]', '五保户李大爷家');
  await page.fill('[data-testid=a-start]', '09:00');
  await page.fill('[data-testid=a-end]', '10:30');
  await page.setInputFiles('[data-testid=a-gallery]', [{ name: 'noise.jpg', mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') }]);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-list] li').length === 1, null, { timeout: 20_000 });
  const photo = JSON.parse((await activityRecords(page))[`daohu:v1:activity:${id}`]).activity.photos[0];
  assert.ok(photo.bytes > 2 * 256 * 1024, `several chunks (${photo.bytes} bytes)`);
  await page.click('[data-testid=activity-save]');
  const activityKey = (await accountPrefix(page)) + `activity:${id}`;
  await page.waitForFunction((k) => JSON.parse(localStorage.getItem(k)).photo_states[0] === 'uploaded', activityKey, { timeout: 30_000 });

  assert.ok(cut, 'an answer was lost');
  const chunk = 256 * 1024;
  assert.equal(puts.filter((o) => o === 0).length, 1, `never started over (${puts})`);
  assert.deepEqual([...new Set(puts)], Array.from({ length: Math.ceil(photo.bytes / chunk) }, (_, i) => i * chunk), 'each chunk from where the server stood');
  const token = await server.login(VILLAGE);
  const r = await fetch(`${server.url}/api/photos/${photo.id}/content`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const bytes = Buffer.from(await r.arrayBuffer());
  assert.equal(createHash('sha256').update(bytes).digest('hex'), photo.sha256);
  const detail = await server.api(`/api/activities/${id}`, { token });
  assert.equal(detail.json.activity.start, '09:00:00');
  await context.close();
});

test("a teammate checks in and out offline on a team activity recorded on another phone; it counts once uploaded", async () => {
  const { server } = env;
  // 陈志愿者 records today's team patrol from their phone (through the API).
  const chen = await server.login(VOLUNTEER);
  const me = (await server.api('/api/me', { token: chen })).json;
  const roster = (await server.api('/api/activity-roster', { token: chen })).json;
  const team = roster.teams.find((t) => t.name === '青山村志愿服务队');
  const liu = team.members.find((m) => m.name === '刘志愿者');
  const today = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const activity = {
    id: uuidv7(), recorder_id: me.id, team_id: team.id, kind: 'patrol', date: today, start: '00:00:00', end: '23:59:00',
    place: '村口', participants: [me.id], others: 0, served: 0, household_ids: [], description: '', photos: [],
    recorded_at: new Date().toISOString(),
  };
  const up = await server.api('/api/sync/activities', { token: chen, method: 'POST', body: { device_id: uuidv7(), activities: [activity] } });
  assert.equal(up.json.receipts[0].status, 'stored');

  // 刘志愿者's phone gets it with the team's recent activities, then loses the signal.
  const { context, page } = await phone(env.browser);
  await page.goto(server.url + '/login');
  await page.fill('#phone', '13800000006');
  await page.fill('#password', 'daohu123');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/activities\/?$/);
  const card = page.locator('li.card', { hasText: '村口' });
  await card.waitFor();
  await context.setOffline(true);
  await card.locator('button', { hasText: '签到' }).click();
  await card.locator('button', { hasText: '签退' }).waitFor();
  await card.locator('button', { hasText: '签退' }).click();
  await card.locator('button', { hasText: '签到' }).waitFor();
  assert.equal(await page.textContent('[data-testid=pending-count]'), '2');
  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelector('[data-testid=pending-count]')?.textContent === '0', null, { timeout: 30_000 });

  const token = await server.login(VILLAGE);
  const detail = await server.api(`/api/activities/${activity.id}`, { token });
  const mine = detail.json.check_ins.filter((c) => c.volunteer_name === '刘志愿者');
  assert.deepEqual(mine.map((c) => c.kind), ['in', 'out'], 'both taps, once each');
  const hours = await server.api(`/api/activities/hours?from=${today}&to=${today}`, { token });
  assert.ok(hours.json.volunteers.some((r) => r.name === '刘志愿者' && r.activities === 1), '刘志愿者 now has hours on the activity');
  assert.ok(liu, 'on the team list');
  await context.close();
});

test('a full phone refuses a new photo in plain words and changes nothing stored; the app asks to keep its storage', async (t) => {
  const { server } = env;
  // A real full disk: the browser profile on a small tmpfs, filled up once the
  // first photo is kept (mounting needs root, as on the test machines).
  const dir = mkdtempSync(join(tmpdir(), 'daohu-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    t.skip('cannot mount a small filesystem here (needs root)');
    return;
  }
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 360, height: 640 }, locale: 'zh-CN', isMobile: true, hasTouch: true,
  });
  try {
    await context.addInitScript(() => {
      window.__persistAsked = 0;
      const s = navigator.storage;
      if (s && s.persist) {
        const orig = s.persist.bind(s);
        s.persist = () => { window.__persistAsked++; return orig(); };
      }
    });
    const page = await context.newPage();
    await signInVolunteer(page, server);
    await page.waitForFunction(() => window.__persistAsked >= 1, null, { timeout: 5_000 });
    // The room left, in photos: a 64 MB disk holds a couple of hundred.
    await page.waitForFunction(() => /^约 \d+ 张照片$/.test(document.querySelector('[data-testid=storage-usage]')?.textContent), null, { timeout: 5_000 });

    await page.click('[data-testid=record-activity]');
    await page.waitForURL(/\/activities\/[0-9a-f-]{36}$/);
    await page.setInputFiles('[data-testid=a-gallery]', [await makeJpeg(page, 1600, 1200, 90)]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=photo-list] li').length === 1, null, { timeout: 20_000 });
    const recordsBefore = await activityRecords(page);
    const photosBefore = await keptPhotos(page);
    assert.equal(Object.keys(photosBefore).length, 1);

    // Fill the phone's disk to the last byte.
    const fd = openSync(join(dir, 'filler'), 'w');
    for (const size of [1 << 20, 4096, 1]) {
      const chunk = Buffer.alloc(size);
      try { for (;;) writeSync(fd, chunk); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
    }
    closeSync(fd);
    await page.setInputFiles('[data-testid=a-gallery]', [await makeJpeg(page, 1600, 1200, 300)]);
    await page.waitForSelector('[data-testid=activity-warn]', { timeout: 20_000 });
    assert.match(await page.textContent('[data-testid=activity-warn]'), /存储空间不够/);
    assert.equal(await page.locator('[data-testid=photo-list] li').count(), 1, 'the refused photo is not listed');
    assert.deepEqual(await activityRecords(page), recordsBefore, 'stored records byte-identical');
    assert.deepEqual(await keptPhotos(page), photosBefore, 'stored photos untouched');
  } finally {
    await context.close();
    try { execFileSync('umount', [dir], { stdio: 'ignore' }); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
});
