// A member who chose English is told why the server refused, in English: a
// wrong password reads "Wrong phone number or password.", not "The server had
// a problem", and the sign-in screen shows no Chinese besides the language
// button's "中文".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, phone } from './harness.mjs';

const env = useServerAndBrowser();
// A phone number of its own, so this wrong password counts against no account
// another test signs in with.
const NOBODY = '13900000077';

test('a wrong password in English says so in English', async () => {
  const { context, page } = await phone(env.browser);
  await page.goto(env.server.url + '/login');
  await page.waitForSelector('#phone');
  await page.click('button.lang');
  await page.waitForSelector('button[type=submit]:has-text("Sign in")');
  await page.fill('#phone', NOBODY);
  await page.fill('#password', 'not-the-password');
  await page.click('button[type=submit]');
  const error = page.locator('section.login p.error');
  await error.waitFor();
  assert.equal((await error.textContent()).trim(), 'Wrong phone number or password.');
  const text = await page.locator('main').innerText();
  assert.doesNotMatch(text, /[\u3400-\u9fff]/, `Chinese on the English sign-in screen: ${text}`);
  await context.close();
});
