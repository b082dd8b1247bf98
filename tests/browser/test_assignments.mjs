// test_assignments.mjs: a student reads an assignment's instructions and
// rubric, uploads to it through the page, resubmits, and sees both
// uploads (the latest counting) and only their own; the teacher's course
// page shows the assignment's table. In headless Chromium.
//
// Starts its own environment (tests/integration/harness.py --serve-env:
// the students are in the harness's default course, whose one assignment
// is always open). A rubric version with weights and level descriptors is
// stored and given to the assignment through the API; the teacher is
// enrolled in the course. Every page is looked at 1280 and 390 px wide
// (screenshots in tests/browser/screenshots/assign-*), and must not be
// wider than the window. Exits non-zero with a message on failure.
//
// Run: node tests/browser/test_assignments.mjs

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { SCREENSHOTS, SHARED, launchBrowser, log, shot, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const FIXTURE = path.join(SHARED, 'fixtures', 'intros', 'intro01.mp4');
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const RUBRIC = {
  name: 'assign-browser', version: 1, scale: { min: 1, max: 3 },
  criteria: [
    { key: 'clarity', title: 'Clarity', description: 'Can we follow you?', weight: 2,
      descriptors: ['Hard to follow', 'Mostly clear', 'Clear throughout'] },
    { key: 'content', title: 'Content', description: 'Who you are and what you study.' },
  ],
};

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function psql(url, sql) {
  return execFileSync(path.join(PGBIN, 'psql'), ['-X', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
    { encoding: 'utf8' }).trim();
}

async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  await page.fill('form#login input[name=email]', user.email);
  await page.fill('form#login input[name=password]', user.password);
  await Promise.all([page.waitForURL(`${base}/`, { timeout: 15000 }), page.click('form#login [type=submit]')]);
}

// Looks at the page at 1280 and 390 px: screenshots, and no sideways scrolling.
async function bothSizes(page, name) {
  for (const [size, width] of [['wide', 1280], ['phone', 390]]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(page, `assign-${name}-${size}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= width + 2, `${page.url()} is ${wide} px wide at ${width} px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

// Uploads the fixture through the assignment page's form; the page then
// opens the submission. Returns its id.
async function uploadOnPage(page, base, aid) {
  await page.goto(`${base}/assignments/${aid}`);
  await page.setInputFiles('input#video', FIXTURE);
  await Promise.all([
    page.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 }),
    page.click('#upload-btn'),
  ]);
  return Number(page.url().match(/(\d+)$/)[1]);
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  const aid = info.default_assignment;
  let browser;
  let page;
  try {
    // A rubric version with weights and level descriptors for the
    // assignment, and the teacher in the course.
    const rid = Number(psql(info.database_url, `WITH f AS (INSERT INTO rubric_sets (title) VALUES ('assign-browser') RETURNING id) INSERT INTO rubrics (name, version, definition, set_id) SELECT 'assign-browser', 1, '${JSON.stringify(RUBRIC)}', f.id FROM f RETURNING id`).split('\n')[0]);
    psql(info.database_url, `INSERT INTO course_members (course_id, user_id, role) SELECT a.course_id, u.id, 'teacher' FROM assignments a, users u WHERE a.id = ${aid} AND u.email = '${info.users.teacher.email}' ON CONFLICT DO NOTHING`);
    browser = await launchBrowser();
    const tctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tpage = await tctx.newPage();
    await signIn(tpage, base, info.users.teacher);
    const csrf = await tpage.getAttribute('meta[name=csrf-token]', 'content');
    const res = await tpage.request.patch(`${base}/api/v1/assignments/${aid}`, {
      headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
      data: { title: 'Introduce yourself', instructions: 'Say your name.\nSay what you study.\nKeep it under two minutes.', rubric_id: rid, due_at: '2099-01-01T12:00' },
    });
    check(res.status() === 200, `PATCH the assignment answered ${res.status()}: ${await res.text()}`);

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await ctx.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await signIn(page, base, info.users.student);
    // Home: the open assignment, its due date in words, a link to it.
    check(await page.locator(`#assignments li[data-assignment="${aid}"]`).count() === 1, 'home does not list the open assignment');
    check(/due in \d+ days/.test(await page.locator('.due-words').first().textContent()), 'home does not say when it is due');
    check(await page.locator('#upload-for').count() === 1, 'the upload form does not name the one open assignment');
    await bothSizes(page, '01-home');
    // The assignment page: instructions with their line breaks, the rubric
    // with weights and what each level means.
    await Promise.all([page.waitForURL(`${base}/assignments/${aid}`), page.click(`#assignments li[data-assignment="${aid}"] h2 a`)]);
    const instr = await page.locator('#instructions').innerText();
    check(instr.split('\n').length === 3, `the instructions lost their line breaks: ${JSON.stringify(instr)}`);
    const crit = await page.$$eval('#rubric .criterion', (lis) => lis.map((li) => li.innerText));
    check(crit.length === 2, `the rubric shows ${crit.length} criteria`);
    check(crit[0].includes('Clarity') && crit[0].includes('weight 2') && crit[0].includes('Mostly clear') &&
      crit[0].includes('Clear throughout') && crit[0].includes('Can we follow you?'), `criterion 1 reads: ${crit[0]}`);
    check(crit[1].includes('weight 1') && !crit[1].includes('Mostly clear'), `criterion 2 reads: ${crit[1]}`);
    check(await page.locator('#rubric .levels dt', { hasText: '3' }).count() === 1, 'the levels are not numbered from the scale');
    await bothSizes(page, '02-assignment');

    // Upload, then resubmit; both are listed, the first superseded.
    const first = await uploadOnPage(page, base, aid);
    const second = await uploadOnPage(page, base, aid);
    check(second > first, 'the resubmission did not make a new submission');
    const other = await (async () => {
      const octx = await browser.newContext();
      const op = await octx.newPage();
      await signIn(op, base, info.users.student2);
      const id = await uploadOnPage(op, base, aid);
      await octx.close();
      return id;
    })();
    await page.goto(`${base}/assignments/${aid}`);
    const rows = await page.$$eval('table.list tbody tr', (trs) => trs.map((tr) => ({
      href: tr.querySelector('a').getAttribute('href'), text: tr.innerText })));
    check(rows.length === 2, `the assignment page lists ${rows.length} submissions, not 2`);
    check(rows[0].href === `/submissions/${second}` && !/superseded/.test(rows[0].text), `the latest row reads: ${rows[0].text}`);
    check(rows[1].href === `/submissions/${first}` && /superseded by Introduction 2/.test(rows[1].text), `the first row reads: ${rows[1].text}`);
    check(!rows.some((r) => r.href === `/submissions/${other}`), 'a student sees another student\'s upload');
    await bothSizes(page, '03-assignment-resubmitted');
    await page.goto(`${base}/`);
    check(await page.locator(`a[href="/submissions/${other}"]`).count() === 0, 'home shows another student\'s upload');
    check(await page.locator(`a[href="/submissions/${first}"]`).count() === 1, 'home no longer shows the earlier upload');
    await bothSizes(page, '04-home-resubmitted');
    const forbidden = await page.request.get(`${base}/api/v1/submissions/${other}`);
    check(forbidden.status() === 404 || forbidden.status() === 403, `another student's upload answered ${forbidden.status()}`);

    // The teacher's course page: the assignment's table, the latest upload.
    const course = Number(psql(info.database_url, `SELECT course_id FROM assignments WHERE id = ${aid}`));
    await tpage.goto(`${base}/courses/${course}`);
    check(await tpage.locator('#f-assignment').inputValue() === String(aid), 'the course page does not show the assignment');
    const row = tpage.locator('#progress tbody tr', { hasText: 'Test Student' });
    await waitUntil('the course row shows the latest upload', async () =>
      (await row.locator('.sub-cell a').textContent().catch(() => '')) === `#${second}`, 30000);
    check(await tpage.locator('#assignment-shown').count() === 1, 'the page does not say which assignment it shows');
    await bothSizes(tpage, '05-course');
    await tpage.locator('#assignments').scrollIntoViewIfNeeded();
    await tpage.click(`#assignment-${aid} summary`);
    await bothSizes(tpage, '06-course-edit');
    await tpage.setViewportSize({ width: 390, height: 900 });
    await tpage.locator('#assignments').screenshot({ path: path.join(SCREENSHOTS, 'assign-07-assignments-phone.png') });
    await tpage.setViewportSize({ width: 1280, height: 900 });
    await tpage.locator('#assignments').screenshot({ path: path.join(SCREENSHOTS, 'assign-07-assignments-wide.png') });
    if (problems.length) throw new Error(`the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (page) await shot(page, 'assign-99-failure').catch(() => {});
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
