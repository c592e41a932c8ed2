// The browser protections hold the real app: the member app (sign in, open a
// household), the volunteer activities and the coordinators' console run under
// the server's Content-Security-Policy without a single violation, and an
// inline script nobody built is refused (so the watch below does see them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone, signIn, waitForServiceWorker, MEMBER1 } from './harness.mjs';

const env = useServerAndBrowser();
const VOLUNTEER = { phone: '13800000005', password: 'daohu123' };
const COORD = { phone: '13800000009', password: 'daohu123' };

/** A phone whose every document reports CSP violations, and the list they go to. */
async function watchedPhone() {
  const { context, page } = await phone(env.browser);
  const violations = [];
  await context.exposeBinding('__daohuCspViolation', (_source, v) => { violations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__daohuCspViolation({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, page: location.pathname });
    });
  });
  page.on('console', (m) => {
    // Chromium also says here when it cannot read the Permissions-Policy header.
    if (/Content[ -]Security[ -]Policy|Permissions[ -]Policy/i.test(m.text())) violations.push({ console: m.text(), page: page.url() });
  });
  return { context, page, violations };
}

/** The page's CSP header, checked for the hashes of its inline loader. */
function assertPolicy(response, what) {
  const csp = response.headers()['content-security-policy'];
  assert.ok(csp, `${what}: no Content-Security-Policy`);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'( 'sha256-[A-Za-z0-9+/=]+')+;/, `${what}: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.equal(response.headers()['x-frame-options'], 'DENY', what);
  assert.equal(response.headers()['referrer-policy'], 'no-referrer', what);
  assert.match(response.headers()['permissions-policy'] || '', /geolocation=\(self\).*microphone=\(\)/, what);
}

test('the member app, activities and console run under the CSP with no violation', async () => {
  const { server } = env;

  // The member app: sign in, the household list, one household, the worker.
  const member = await watchedPhone();
  assertPolicy(await member.page.goto(server.url + '/'), 'member app');
  await signIn(member.page, server, MEMBER1, 10);
  await waitForServiceWorker(member.page);
  await member.page.locator('[data-testid=household-list] a.card').first().click();
  await member.page.waitForURL(/\/household\//);
  await member.page.waitForSelector('[data-testid=start-visit]');
  await member.page.goto(server.url + '/outbox');
  await member.page.waitForSelector('[data-testid=upload-now]');
  assert.deepEqual(member.violations, [], 'member app');

  // The volunteer's activities bundle.
  const volunteer = await watchedPhone();
  await volunteer.page.goto(server.url + '/login');
  await volunteer.page.fill('#phone', VOLUNTEER.phone);
  await volunteer.page.fill('#password', VOLUNTEER.password);
  await volunteer.page.click('button[type=submit]');
  await volunteer.page.waitForURL(/\/activities\/?$/);
  await volunteer.page.waitForSelector('[data-testid=start-activity]');
  assertPolicy(await volunteer.page.reload(), 'activities');
  await volunteer.page.waitForSelector('[data-testid=start-activity]');
  await volunteer.page.click('[data-testid=start-activity]');
  await volunteer.page.waitForTimeout(500);
  assert.deepEqual(volunteer.violations, [], 'activities');

  // The coordinators' console: dashboard and its charts, the visit log.
  const coord = await watchedPhone();
  await coord.page.setViewportSize({ width: 1024, height: 800 });
  await coord.page.goto(server.url + '/login');
  await coord.page.fill('#phone', COORD.phone);
  await coord.page.fill('#password', COORD.password);
  await coord.page.click('button[type=submit]');
  await coord.page.waitForURL(/\/admin\/?$/);
  await coord.page.waitForSelector('[data-testid=coverage-total]');
  assertPolicy(await coord.page.reload(), 'console');
  await coord.page.waitForSelector('[data-testid=coverage-total]');
  await coord.page.click('.tabs >> text=走访记录');
  await coord.page.waitForSelector('[data-testid=visit-total]');
  assert.deepEqual(coord.violations, [], 'console');

  // An inline script that no build wrote is refused, and the watch sees it.
  await member.page.goto(server.url + '/');
  await member.page.waitForSelector('[data-testid=household-list]');
  await member.page.addScriptTag({ content: 'window.__injected = true;' }).catch(() => {});
  await member.page.waitForTimeout(300);
  assert.equal(await member.page.evaluate(() => window.__injected === true), false, 'an injected inline script ran');
  assert.ok(member.violations.some((v) => v.directive?.startsWith('script-src')), JSON.stringify(member.violations));

  for (const p of [member, volunteer, coord]) await p.context.close();
});
