// Takes phone-sized screenshots of the main screens (for looking at the UI by
// eye; not a test). Usage: node screens.mjs OUTDIR
import { Server, launchBrowser, phone, signIn, waitForRecord, MEMBER1 } from './harness.mjs';
const out = process.argv[2] || '.';
const server = new Server();
await server.start();
const browser = await launchBrowser();
try {
  const { page } = await phone(browser);
  await page.goto(server.url + '/');
  await page.waitForSelector('#phone');
  await page.screenshot({ path: `${out}/1-login.png` });
  await signIn(page, server, MEMBER1, 10);
  await page.screenshot({ path: `${out}/2-households.png` });
  await page.locator('[data-testid=household-list] a.card').nth(0).click();
  await page.waitForSelector('[data-testid=start-visit]');
  await page.screenshot({ path: `${out}/3-household.png` });
  await page.click('[data-testid=start-visit]');
  await page.waitForSelector('[data-testid=step-title]');
  await page.click('button.state:has-text("已完成")');
  await page.screenshot({ path: `${out}/4-section.png`, fullPage: true });
  await page.click('.steps .dot >> nth=5');
  await page.click('[data-testid=add-problem]');
  await page.screenshot({ path: `${out}/5-problems.png`, fullPage: true });
  await page.click('.steps .dot >> nth=6');
  await page.click('[data-testid=save-visit]');
  await page.screenshot({ path: `${out}/6-summary.png`, fullPage: true });
  await page.goto(server.url + '/outbox');
  await page.waitForSelector('[data-testid=upload-now]');
  await page.screenshot({ path: `${out}/7-outbox.png` });
  await page.click('.signout-link');
  await page.waitForSelector('[data-testid=signout-keep]');
  await page.screenshot({ path: `${out}/7b-signout.png`, fullPage: true });
  // Volunteer activities (their own bundle).
  const v = await phone(browser);
  await v.page.goto(server.url + '/login');
  await v.page.fill('#phone', '13800000005');
  await v.page.fill('#password', 'daohu123');
  await v.page.click('button[type=submit]');
  await v.page.waitForSelector('[data-testid=start-activity]');
  await waitForRecord(v.page, 'activity-roster');
  await v.page.screenshot({ path: `${out}/8-activities.png`, fullPage: true });
  await v.page.click('[data-testid=start-activity]');
  await v.page.waitForSelector('[data-testid=a-kind]');
  await v.page.selectOption('[data-testid=a-kind]', 'cleanup');
  await v.page.screenshot({ path: `${out}/9-activity.png`, fullPage: true });
} finally {
  await browser.close();
  await server.cleanup();
}
