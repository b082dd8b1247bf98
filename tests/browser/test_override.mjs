// test_override.mjs: a teacher adjusts a score and the student's open
// result page shows it without a reload (issue 12), in headless Chromium.
//
// A student uploads a short fixture (intro03's first 6.5 s) through the
// JSON API and keeps its result page open in one browser context until it
// is scored; a marker is set on window and on the <video>. A teacher, in
// another context, opens the same page, opens the "Adjust" control of the
// Content row with the keyboard, picks another score, writes a comment
// and saves. The student's page must then show the new score in
// td.criterion-score, the "Adjusted by" note with the comment and the
// model's score, and the new overall, with both markers still there (no
// navigation, the recording not replaced), and neither the form nor the
// trail. The teacher's page shows the trail. Screenshots of both views at
// 1280 px and on a phone (390×844) go to tests/browser/screenshots/
// (override-*.png); neither view may be wider than the phone.
//
// Run: node tests/browser/test_override.mjs (after npm ci in tests/browser).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser, log, shortIntro, shot, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
const VIDEO = shortIntro('intro03');
const COMMENT = 'You named your studies and your goals clearly: that is more than the basics.';

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  await page.fill('form#login input[name=email]', user.email);
  await page.fill('form#login input[name=password]', user.password);
  await Promise.all([
    page.waitForURL(`${base}/`, { timeout: 15000 }),
    page.click('form#login [type=submit]'),
  ]);
}

async function upload(page, base) {
  const me = await (await page.request.get(`${base}/api/v1/me`)).json();
  const res = await page.request.post(`${base}/api/v1/submissions`, {
    headers: { 'Content-Type': 'video/mp4', 'X-CSRF-Token': me.csrf_token, 'X-Filename': path.basename(VIDEO) },
    data: readFileSync(VIDEO),
  });
  check(res.status() === 201, `the upload answered ${res.status()}`);
  return (await res.json()).id;
}

// What a result page shows of the Content row and the overall.
function readRow() {
  const row = document.querySelector('tr#criterion-content');
  const note = row && row.querySelector('.adjusted-note');
  return {
    score: row ? row.querySelector('td.criterion-score').textContent.trim() : '',
    note: note ? note.textContent.replace(/\s+/g, ' ').trim() : '',
    overall: (document.querySelector('#overall-score')?.textContent || '').trim(),
    form: document.querySelectorAll('form.adjust-form').length,
    audit: document.querySelectorAll('#score-audit').length,
    marker: window.__marker,
    playerMarker: document.getElementById('player')?.__marker,
  };
}

async function noWiderThan(page, px, what) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= px, `${what} is ${wide} px wide`);
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  log(`server at ${base}`);
  let browser;
  let spage;
  let tpage;
  const problems = [];
  try {
    browser = await launchBrowser();
    const desktop = { viewport: { width: 1280, height: 900 } };
    spage = await (await browser.newContext(desktop)).newPage();
    spage.on('pageerror', (e) => problems.push(`student page error: ${e.message}`));
    spage.on('console', (m) => { if (m.type() === 'error') problems.push(`student console: ${m.text()}`); });
    await signIn(spage, base, info.users.student);
    const id = await upload(spage, base);
    const url = `${base}/submissions/${id}`;
    await spage.goto(url);
    await waitUntil('the student page to show a score', async () =>
      (await spage.locator('#overall-score').count()) > 0, TIMEOUT_MS, 500);
    await spage.evaluate(() => {
      window.__marker = 1;
      document.getElementById('player').__marker = 1;
    });
    const sub = await (await spage.request.get(`${base}/api/v1/submissions/${id}`)).json();
    const model = sub.evaluation.scores.content;
    const wanted = model >= 3 ? 1 : 5;
    const scores = { ...sub.evaluation.scores, content: wanted };
    const vals = Object.values(scores);
    // The mean to two decimals, shown to one with halves rounded up.
    const mean2 = Math.round(vals.reduce((a, b) => a + b, 0) / vals.length * 100) / 100;
    const overall = (Math.round(mean2 * 10) / 10).toFixed(1);
    log(`submission ${id}: content ${model} → ${wanted}, overall ${sub.evaluation.overall} → ${overall}`);
    const before = await spage.evaluate(readRow);
    check(before.score === String(model), `the student page shows content ${before.score}, not ${model}`);
    check(before.form === 0 && before.audit === 0, 'the student page has an adjust form or a trail');
    await shot(spage, 'override-01-student-before');

    // The teacher adjusts, with the keyboard for the disclosure.
    tpage = await (await browser.newContext(desktop)).newPage();
    tpage.on('pageerror', (e) => problems.push(`teacher page error: ${e.message}`));
    tpage.on('console', (m) => { if (m.type() === 'error') problems.push(`teacher console: ${m.text()}`); });
    await signIn(tpage, base, info.users.teacher);
    await tpage.goto(url);
    const summary = tpage.locator('tr#criterion-content details.adjust summary');
    await summary.focus();
    await tpage.keyboard.press('Enter');
    check(await tpage.locator('tr#criterion-content details.adjust').evaluate((d) => d.open),
      'Enter on "Adjust" did not open the form');
    const form = tpage.locator('tr#criterion-content form.adjust-form');
    check(await tpage.locator('label[for="adjust-score-content"]').count() === 1 &&
      await tpage.locator('label[for="adjust-comment-content"]').count() === 1, 'the form fields are not labelled');
    await form.locator('select[name=score]').selectOption(String(wanted));
    await form.locator('textarea[name=comment]').fill(COMMENT);
    await shot(tpage, 'override-02-teacher-form');
    await Promise.all([
      tpage.waitForURL(`${url}#criterion-content`, { timeout: 15000 }),
      form.locator('button[type=submit]').click(),
    ]);

    // The student's page follows by itself.
    const after = await waitUntil('the student page to show the adjusted score', async () => {
      const r = await spage.evaluate(readRow).catch(() => null);
      return r && r.score === String(wanted) && r.note !== '' ? r : null;
    }, 30000);
    log(`student page: ${JSON.stringify(after)}`);
    check(after.marker === 1, 'the student page was reloaded');
    check(after.playerMarker === 1, 'the recording was replaced');
    check(after.note.includes('Adjusted by Test Teacher') && after.note.includes(COMMENT),
      `the adjusted note reads "${after.note}"`);
    check(after.note.includes(`Model's score: ${model}`), `the note does not give the model's score: "${after.note}"`);
    check(after.overall === overall, `the overall is ${after.overall}, not ${overall}`);
    check(after.form === 0 && after.audit === 0, 'the student page shows the form or the trail');
    await shot(spage, 'override-03-student-after');

    const t = await tpage.evaluate(readRow);
    check(t.score === String(wanted) && t.audit === 1, `the teacher page: ${JSON.stringify(t)}`);
    const trail = (await tpage.locator('#score-audit tbody').textContent()).replace(/\s+/g, ' ');
    check(trail.includes(`${model} → ${wanted}`) && trail.includes('Test Teacher') && trail.includes(COMMENT),
      `the trail reads "${trail}"`);
    await shot(tpage, 'override-04-teacher-after');

    // Phones.
    const phone = { viewport: { width: 390, height: 844 }, isMobile: true };
    const sphone = await (await browser.newContext(phone)).newPage();
    await signIn(sphone, base, info.users.student);
    await sphone.goto(url);
    await noWiderThan(sphone, 400, 'the student page on a phone');
    await shot(sphone, 'override-05-student-phone');
    const tphone = await (await browser.newContext(phone)).newPage();
    await signIn(tphone, base, info.users.teacher);
    await tphone.goto(url);
    await tphone.locator('tr#criterion-organization details.adjust summary').click();
    await noWiderThan(tphone, 400, 'the teacher page on a phone');
    await shot(tphone, 'override-06-teacher-phone');

    if (problems.length) throw new Error(`the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (spage) await shot(spage, 'override-99-student-failure').catch(() => {});
    if (tpage) await shot(tpage, 'override-99-teacher-failure').catch(() => {});
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
