// Shared pieces of the browser tests: start the real server on a free
// loopback port with a fresh SQLite data dir, and Debian's headless Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_BIN = process.env.DAOHU_SERVER_BIN || join(ROOT, 'target', 'debug', 'daohu-server');
export const DIST = process.env.DAOHU_DIST || join(ROOT, 'dist');
export const MEMBER1 = { phone: '13800000001', password: 'daohu123' };
export const MEMBER2 = { phone: '13800000002', password: 'daohu123' };

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A running server; `stop()` kills it, `start()` brings it back on the same port and data. */
export class Server {
  constructor({ dist = DIST } = {}) {
    this.dist = dist;
    this.dataDir = mkdtempSync(join(tmpdir(), 'daohu-e2e-'));
    this.port = 0;
    this.proc = null;
  }
  get url() { return `http://127.0.0.1:${this.port}`; }
  async start() {
    if (!this.port) this.port = await freePort();
    this.proc = spawn(SERVER_BIN, ['--addr', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--dist', this.dist, '--demo'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RUST_LOG: 'warn' },
    });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server did not start: ${this.stderr}`);
  }
  async stop() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
  async cleanup() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
  /** Calls the API as a member. */
  async api(path, { token, method = 'GET', body } = {}) {
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(this.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  }
  async login(who) {
    const r = await this.api('/api/auth/login', { method: 'POST', body: who });
    if (r.status !== 200) throw new Error(`login failed: ${r.status}`);
    return r.json.token;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A phone-sized page in Chinese. */
export async function phone(browser, { timezoneId } = {}) {
  const context = await browser.newContext({ viewport: { width: 360, height: 640 }, locale: 'zh-CN', deviceScaleFactor: 2, isMobile: true, hasTouch: true, timezoneId });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return { context, page };
}

/** Signs in through the form and waits for the household list. */
export async function signIn(page, server, who, expectedHouseholds) {
  await page.goto(server.url + '/');
  await page.waitForURL('**/login');
  await page.fill('#phone', who.phone);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL(server.url + '/');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=household-list] li').length === n, expectedHouseholds);
}

/** Signs in through the form as any account and waits to land on `landing` (a URL pattern). */
export async function signInTo(page, server, who, landing) {
  await page.goto(server.url + '/login');
  await page.fill('#phone', who.phone);
  await page.fill('#password', who.password);
  await page.click('button[type=submit]');
  await page.waitForURL(landing);
}

/**
 * Waits until the service worker controls the page (the shell is cached).
 * `ready` means a worker is active, not that this document is controlled: a
 * document whose navigation was still in flight when the worker claimed its
 * clients stays uncontrolled (seen once in CI, on a cold browser, for the
 * volunteer page that is loaded right after sign-in). Its next load is
 * controlled, since navigations go through the active registration, so then
 * the page is loaded once more.
 */
export async function waitForServiceWorker(page) {
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  try {
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 5_000 });
  } catch {
    await page.reload();
    await page.evaluate(async () => { await navigator.serviceWorker.ready; });
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 15_000 });
  }
}

export async function pendingCount(page) {
  return Number(await page.textContent('[data-testid=pending-count]'));
}

/** Walks a whole visit through the UI from a household page and saves it. */
export async function recordVisit(page, { state = '已完成', problem = null, summary = '' } = {}) {
  await page.click('[data-testid=start-visit]');
  await page.waitForURL('**/visit/*');
  for (let step = 0; step < 5; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step + 1} / 7`);
    await page.locator('.checklist input[type=checkbox]').first().check();
    await page.click(`button.state:has-text("${state}")`);
    await page.fill('#notes', `第${step + 1}项备注`);
    await page.click('.step-buttons button.primary');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=6 / 7');
  if (problem) {
    await page.click('[data-testid=add-problem]');
    await page.selectOption('#problem-0-category', problem.category);
    await page.fill('#problem-0-text', problem.text);
    await page.click('.step-buttons button.primary');
  } else {
    // With no problem the step's main button saves at once; the summary is the last dot.
    await page.click('.steps .dot >> nth=6');
  }
  await page.waitForSelector('[data-testid=step-title] >> text=7 / 7');
  if (summary) await page.fill('#summary', summary);
  await page.click('[data-testid=save-visit]');
  await page.waitForSelector('[data-testid=saved-status]');
  return page.url().split('/visit/')[1];
}

/**
 * The key prefix of the signed-in account's records (`daohu:v1:a:<id>:`), as a
 * browser-side expression for `page.evaluate` bodies (see src/storage.rs). With
 * a PIN set the session key only names the account (`{"sealed": id}`).
 */
export const ACCOUNT_PREFIX_JS = "((s) => 'daohu:v1:a:' + (s.sealed || s.member.id) + ':')(JSON.parse(localStorage.getItem('daohu:v1:session')))";

/**
 * Waits until the signed-in account's record `name` is in this page's storage.
 * A function, not an expression string: Playwright polls a string with eval,
 * which the app's CSP refuses whenever the first look finds nothing yet.
 */
export async function waitForRecord(page, name) {
  await page.waitForFunction((name) => {
    const s = JSON.parse(localStorage.getItem('daohu:v1:session') || 'null');
    return !!s && !!localStorage.getItem('daohu:v1:a:' + (s.sealed || s.member.id) + ':' + name);
  }, name);
}

/** The signed-in account's key prefix in this page's storage. */
export async function accountPrefix(page) {
  return page.evaluate(ACCOUNT_PREFIX_JS);
}

/**
 * The signed-in account's visits in local storage, key → value, with keys
 * written without the account (`daohu:v1:visit:<id>`).
 */
export async function localRecords(page) {
  const prefix = await accountPrefix(page);
  return page.evaluate((prefix) => {
    const out = {};
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k.startsWith(prefix + 'visit:')) out['daohu:v1:' + k.slice(prefix.length)] = localStorage.getItem(k);
    }
    return out;
  }, prefix);
}

/** A new UUID v7 (the phone's id scheme). */
export function uuidv7(ms = Date.now()) {
  const b = new Uint8Array(10);
  crypto.getRandomValues(b);
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const t = ms.toString(16).padStart(12, '0');
  return `${t.slice(0, 8)}-${t.slice(8)}-7${hex.slice(1, 4)}-${(8 | (parseInt(hex[4], 16) & 3)).toString(16)}${hex.slice(5, 8)}-${hex.slice(8, 20)}`;
}

/** A complete, valid visit as the phone would upload it. */
export function makeVisit(householdId, memberId, { visitedOn = new Date().toISOString().slice(0, 10), states = null, summary = '', problems = [], recordedAt = new Date() } = {}) {
  const kinds = ['member_contact', 'sentiment_visit', 'policy_delivered', 'industry_matchup', 'precise_service'];
  return {
    id: uuidv7(),
    household_id: householdId,
    member_id: memberId,
    visited_on: visitedOn,
    recorded_at: recordedAt.toISOString(),
    sections: kinds.map((kind, i) => ({ kind, state: states ? states[i] : 'done', checked: [], notes: '' })),
    problems: problems.map((p) => ({ id: uuidv7(), category: 'water', urgency: 'normal', outcome: 'escalate', action: '', ...p })),
    summary,
  };
}

/**
 * Registers the before/after hooks of a browser test file: a fresh server
 * (with its own SQLite data dir) and one Chromium for the whole file.
 * Returns an object whose `server` and `browser` are set once `before` ran.
 */
export function useServerAndBrowser(serverOptions = {}) {
  let ready;
  // Root-level hooks of a file may start together: another hook awaits `env.ready`.
  const env = { server: null, browser: null, ready: new Promise((r) => { ready = r; }) };
  before(async () => {
    env.server = new Server(serverOptions);
    await env.server.start();
    env.browser = await launchBrowser();
    ready();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.cleanup();
  });
  return env;
}

/** Puts visits straight into the phone's storage as waiting records (as an older session or tab left them). */
export async function injectPending(page, visits, { bare = false } = {}) {
  const prefix = await accountPrefix(page);
  await page.evaluate(({ visits, bare, prefix }) => {
    for (const visit of visits) {
      const value = bare ? visit : { schema: 1, visit, sync: { state: 'pending' }, step: 6 };
      localStorage.setItem(`${prefix}visit:${visit.id}`, JSON.stringify(value));
    }
  }, { visits, bare, prefix });
}

/** The signed-in member's id and household ids, from the phone's storage. */
export async function phoneState(page) {
  return page.evaluate(() => {
    const session = JSON.parse(localStorage.getItem('daohu:v1:session'));
    const roster = JSON.parse(localStorage.getItem(`daohu:v1:a:${session.member.id}:roster`));
    return { memberId: session.member.id, token: session.token, households: roster.households.map((h) => h.household.id) };
  });
}

/**
 * Walks every screen of the phone app as a signed-in member whose first
 * household has a visit with a problem and notes, calling `onScreen(where)` on
 * each: the list, the household, the seven steps of a visit, the outbox, the
 * app lock's page, signing out (not done), the activities and a new activity. The language is
 * whatever the phone has chosen.
 */
export async function walkPhoneScreens(page, server, onScreen) {
  await page.goto(server.url + '/');
  await page.waitForSelector('[data-testid=household-list] li');
  await onScreen('household list');
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  await page.waitForSelector('[data-testid=start-visit]');
  await onScreen('household page');
  await page.click('[data-testid=start-visit]');
  for (let step = 1; step <= 7; step++) {
    await page.waitForSelector(`[data-testid=step-title] >> text=${step} / 7`);
    await onScreen(`visit step ${step}`);
    if (step < 7) await page.click('.steps .dot >> nth=' + step);
  }
  for (const path of ['/outbox', '/lock', '/signout', '/activities']) {
    await page.goto(server.url + path);
    await page.waitForSelector('main h1');
    await onScreen(path);
  }
  await page.click('[data-testid=record-activity]');
  await page.waitForURL(/\/activities\/[0-9a-f-]{36}$/);
  await onScreen('new activity');
}

/** The console's screens, for a coordinator signed in on `page`. */
export const CONSOLE_SCREENS = ['/admin', '/admin/org', '/admin/visits', '/admin/sheet', '/admin/problems',
  '/admin/accounts', '/admin/households', '/admin/import', '/admin/activities', '/admin/catalogue', '/admin/gaps', '/admin/needs'];

/** Walks the console's screens, calling `onScreen(path)` on each. */
export async function walkConsoleScreens(page, server, onScreen) {
  for (const path of CONSOLE_SCREENS) {
    await page.goto(server.url + path);
    await page.waitForSelector('main h1');
    await onScreen(path);
  }
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe's serious and critical findings on the page as it is now, one line each. */
export async function axeFindings(page) {
  // Evaluated through the debugging protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(AXE);
  const violations = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations));
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * The page's visible tap targets smaller than 44 × 44 CSS px, one line each.
 * A checkbox, radio or file input counts by its label: the label is what a
 * finger hits (file inputs are hidden behind a label drawn as a button).
 */
export async function smallTargets(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('a[href], button, select, textarea, summary, input:not([type=hidden])')) {
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || el.closest('[hidden]')) continue;
      let r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (el.type === 'checkbox' || el.type === 'radio' || el.type === 'file') {
        const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
        if (label) r = label.getBoundingClientRect();
      }
      if (r.width < 44 || r.height < 44) {
        const name = (el.getAttribute('aria-label') || el.textContent || el.value || '').trim().slice(0, 16);
        out.push(`${el.tagName.toLowerCase()}${el.dataset.testid ? `[${el.dataset.testid}]` : ''} "${name}" ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
    }
    return out;
  });
}
