// test_dashboards.mjs: the live dashboards in headless Chromium.
//
// An admin creates four more students and a course through the pages,
// enrols the teacher and five students (sections A and B); the teacher
// opens the course's progress page and keeps it open while the five
// students upload the fixture videos intro01..intro05 (through the JSON
// API) and the stand-ins process them. Every row must pass through a
// transcription state and an evaluation state to "Done · score" without
// the page reloading (a marker on window survives), fed by the WebSocket
// alone. Student 1 keeps their own submission page open the same way and
// must see it reach its score without a reload. Then the results table,
// its sorting, the CSV export, the filters, the admin's health page (SVG
// charts) and a phone-sized view are checked. Screenshots of each page go
// to tests/browser/screenshots/ (dash-*.png).
//
// What a newcomer tripped over (issue 12) is checked on the way: the
// admin's first page is a checklist; a refused new user keeps what was
// typed; enrolling says what it did and asks before moving someone; the
// results table fits a 1280-px screen; the course's counts agree with
// the results table and the pipeline box; cancelling a row takes a
// confirmation, and the student then reads why in plain words; students
// read "Introduction N"; the health page reads on a phone. Pages are
// photographed at 1280×800 and 390×844 (dash-1*.png).
//
// Run: node tests/browser/test_dashboards.mjs (after npm ci in tests/browser).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCREENSHOTS, launchBrowser, log, shortIntro, shot, sleep, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 240) * 1000;
// The pages are the subject, not the words: the fixtures' first seconds.
const VIDEOS = [1, 2, 3, 4, 5].map((i) => shortIntro(`intro0${i}`));
const STT_STATES = ['uploaded', 'queued', 'transcribing'];
const LLM_STATES = ['waiting', 'evaluating'];

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// One SQL statement on the environment's database (the rows a test
// needs in a given state, as the integration tests write them).
function sql(info, statement) {
  const bin = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
  const r = spawnSync(path.join(bin, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-tAc', statement, info.database_url],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim().split('\n')[0];
}

// The page at both sizes: shots NAME-desktop.png and NAME-phone.png;
// neither may scroll sideways. The page is left at 1200 × 900.
async function bothSizes(page, name) {
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await shot(page, `${name}-${size}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= viewport.width + 2, `${page.url()} is ${wide} px wide at ${viewport.width} px`);
  }
  await page.setViewportSize({ width: 1200, height: 900 });
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

// The admin's part: four more students, a course, its members.
async function setUpCourse(page, base, info) {
  // Before anything is set up: a checklist, each step a link.
  await page.goto(`${base}/`);
  const steps = await page.$$eval('#first-run li', (lis) => lis.map((li) => `${li.className}:${li.querySelector('a').getAttribute('href')}`));
  check(steps.includes('todo:/courses') && steps.includes('done:/admin/users') &&
    steps.some((st) => st.endsWith(':/admin/health')), `the admin's checklist: ${steps}`);
  await bothSizes(page, 'dash-09-admin-first');
  const students = [info.users.student];
  for (let i = 2; i <= 5; i++) {
    const email = `student${i}@example.com`;
    await page.goto(`${base}/admin/users`);
    await page.fill('input[name=email]', email);
    await page.fill('input[name=name]', `Student ${String.fromCharCode(64 + i)}`);
    await page.selectOption('select[name=role]', 'student');
    await page.click('form.grid button[type=submit]');
    const pw = (await page.locator('#new-password').textContent()).trim();
    students.push({ email, password: pw });
  }
  // The same email again: refused, and the form keeps what was typed.
  await page.fill('input[name=email]', 'student2@example.com');
  await page.fill('input[name=name]', 'Someone Else');
  await page.selectOption('select[name=role]', 'teacher');
  await page.fill('input[name=password]', 'typed-secret-1');
  await page.click('form.grid button[type=submit]');
  check(await page.locator('p.alert').count() === 1, 'a duplicate email is not refused');
  check(await page.inputValue('input[name=email]') === 'student2@example.com', 'the refused form lost the email');
  check(await page.inputValue('input[name=name]') === 'Someone Else', 'the refused form lost the name');
  check(await page.inputValue('select[name=role]') === 'teacher', 'the refused form lost the role');
  check(await page.inputValue('input[name=password]') === '', 'the refused form kept the password');
  await bothSizes(page, 'dash-10-users-refused');
  await page.goto(`${base}/courses`);
  await page.fill('#course-form input[name=code]', 'ENG101');
  await page.fill('#course-form input[name=title]', 'Speaking lab, spring');
  await Promise.all([page.waitForURL(/\/courses\/\d+$/), page.click('#course-form button')]);
  const courseUrl = page.url();
  const enrol = async (email, role, section) => {
    await page.fill('#enrol-form input[name=email]', email);
    await page.selectOption('#enrol-form select[name=role]', role);
    await page.fill('#enrol-form input[name=section]', section);
    await Promise.all([page.waitForURL(/\/courses\/\d+/), page.click('#enrol-form button')]);
    return (await page.locator('#enrol-message, #enrol-confirm').first().textContent()).trim();
  };
  await enrol(info.users.teacher.email, 'teacher', '');
  for (let i = 0; i < students.length; i++) {
    const said = await enrol(students[i].email, 'student', i < 3 ? 'A' : 'B');
    check(said === `Added ${i === 0 ? 'Test Student' : `Student ${String.fromCharCode(65 + i)}`} as a student, in section ${i < 3 ? 'A' : 'B'}.`,
      `enrolling said: ${said}`);
  }
  // Enrolling someone again elsewhere asks first and moves nobody.
  const asked = await enrol(students[4].email, 'student', 'A');
  check(/already enrolled in section B\. Nothing has changed\./.test(asked), `enrolling again said: ${asked}`);
  check(/Move Student E to section A/.test(await page.locator('#enrol-move').textContent()), 'no move button');
  await page.locator('#members').screenshot({ path: path.join(SCREENSHOTS, 'dash-11-enrol-confirm.png') });
  check(await page.locator('#progress tbody tr').count() === 5,
    'the course page does not list the five enrolled students');
  // The course's assignment, through the page's form: the students'
  // uploads go to it, their only open one.
  check(await page.locator('#no-assignments').count() === 1, 'a course without assignments does not say so');
  await page.fill('#assignment-form input[name=title]', 'Introduce yourself');
  await page.fill('#assignment-form textarea[name=instructions]', 'One to two minutes about you.');
  await Promise.all([page.waitForURL(/\/courses\/\d+\?assignment=\d+/), page.click('#assignment-form button[type=submit]')]);
  check(await page.locator('#f-assignment option').count() === 1, 'the new assignment is not in the selector');
  await shot(page, 'dash-01-course-admin');
  return { courseUrl, students };
}

// Uploads one video as a student through the JSON API; returns its id.
async function upload(browser, base, student, video) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, base, student);
  const me = await (await page.request.get(`${base}/api/v1/me`)).json();
  const res = await page.request.post(`${base}/api/v1/submissions`, {
    headers: { 'Content-Type': 'video/mp4', 'X-CSRF-Token': me.csrf_token, 'X-Filename': path.basename(video) },
    data: readFileSync(video),
  });
  check(res.status() === 201, `upload by ${student.email} answered ${res.status()}`);
  const body = await res.json();
  return { id: body.id, ctx, page };
}

// Records every state each row's chip shows, and every #status text.
function installRecorder() {
  window.__marker = 'no reload';
  window.__states = {};
  window.__statusLog = [];
  const record = () => {
    for (const tr of document.querySelectorAll('#progress tbody tr')) {
      const chip = tr.querySelector('.chip');
      if (!chip) continue;
      const list = window.__states[tr.dataset.student] || (window.__states[tr.dataset.student] = []);
      const entry = `${chip.dataset.state}|${chip.textContent.trim()}`;
      if (list[list.length - 1] !== entry) list.push(entry);
    }
    const st = document.querySelector('#status');
    if (st) {
      const t = st.textContent.trim();
      if (window.__statusLog[window.__statusLog.length - 1] !== t) window.__statusLog.push(t);
    }
  };
  record();
  new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}

async function waitForAllDone(page) {
  const deadline = Date.now() + TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const states = await page.$$eval('#progress tbody tr .chip', (els) => els.map((e) => e.dataset.state));
    last = states.join(',');
    if (states.length === 5 && states.every((s) => s === 'done' || s === 'failed')) return states;
    await sleep(500);
  }
  throw new Error(`not every row finished in ${TIMEOUT_MS / 1000} s: ${last}`);
}

async function checkTeacherPage(page, midShot) {
  const states = await waitForAllDone(page);
  check(states.every((s) => s === 'done'), `some rows failed: ${states}`);
  check(await page.evaluate(() => window.__marker) === 'no reload', 'the teacher page reloaded');
  const seen = await page.evaluate(() => window.__states);
  for (const [student, list] of Object.entries(seen)) {
    const kinds = list.map((e) => e.split('|')[0]);
    log(`student ${student}: ${list.join(' → ')}`);
    check(kinds.some((k) => STT_STATES.includes(k)), `row ${student} never showed a transcription state: ${list}`);
    check(kinds.some((k) => LLM_STATES.includes(k)), `row ${student} never showed an evaluation state: ${list}`);
    check(/^done\|Done · \d+\.\d$/.test(list[list.length - 1]), `row ${student} did not end with a score: ${list}`);
    check(kinds.indexOf('done') > kinds.findIndex((k) => STT_STATES.includes(k)), `row ${student}: states out of order`);
  }
  check(midShot, 'no screenshot was taken while the pipeline ran');
  // The results table follows with a short delay.
  const countScored = () => page.$$eval('#results-table tbody tr', (trs) =>
    trs.filter((tr) => /^\d+\.\d$/.test(tr.cells[2].textContent.trim())).length);
  await waitUntil('five scores in the results table', async () => (await countScored()) >= 5, 30000)
    .catch(() => {});
  const scored = await countScored();
  check(scored === 5, `the results table shows ${scored} scores, not 5`);
  // The tiles say what the table and the pipeline box say.
  const tiles = await page.$$eval('#summary dd', (dds) => Object.fromEntries(dds.map((d) => [d.id, d.textContent.trim()])));
  check(tiles['n-done'] === '5' && tiles['n-working'] === '0' && tiles['n-failed'] === '0',
    `the tiles disagree with the results: ${JSON.stringify(tiles)}`);
  await waitUntil('the pipeline box to say nothing is in progress', async () =>
    /Nothing of this course is in progress/.test(await page.locator('#eta').textContent()), 10000);
}

// At 1280 px the results table fits its card: no column is cut.
async function checkResultsFit(page) {
  await page.setViewportSize(DESKTOP);
  const fit = await page.$eval('#results .scroll', (d) => [d.scrollWidth, d.clientWidth]);
  check(fit[0] <= fit[1], `the results table is cut at 1280 px (${fit[0]} > ${fit[1]} px)`);
  const sizes = await page.$eval('#results-table tbody tr', (tr) =>
    [getComputedStyle(tr.cells[0]).fontSize, getComputedStyle(tr.cells[1]).fontSize]);
  check(sizes[0] === sizes[1], `student names (${sizes[0]}) and sections (${sizes[1]}) differ in size`);
  await shot(page, 'dash-12-course-desktop');
  await page.setViewportSize({ width: 1200, height: 900 });
}

// A teacher cancels a row: a first press only asks; the student then
// reads in plain words what happened and what to do.
async function checkCancel(browser, base, info, tpage, spage, student) {
  // A resubmission to the course's assignment, waiting for a retry.
  const sid = Number(sql(info, `INSERT INTO submissions (student_id, stored_name, size_bytes, original_name, phase, status,
    error_message, next_attempt_at, assignment_id, course_id) SELECT u.id, 'x-' || gen_random_uuid(), 1000, 'again.mp4', 'llm', 'retry',
    'the model did not answer', now() + interval '1 day', a.id, a.course_id FROM users u, assignments a JOIN courses c
    ON c.id = a.course_id WHERE u.email = '${student.email}' AND c.code = 'ENG101' RETURNING id`));
  const row = tpage.locator(`#progress tbody tr[data-id="${sid}"]`);
  await row.waitFor({ timeout: 15000 });
  const tiles = async () => tpage.$$eval('#summary dd', (dds) => dds.map((d) => d.textContent.trim()).join(','));
  // Students 5, not submitted 0, in progress 1, failed 0, done 4: the
  // retry waits in progress, and as the latest upload it is the one that
  // counts, so the older score does not (until it is cancelled).
  await waitUntil('the tiles to count the retry as in progress', async () => (await tiles()) === '5,0,1,0,4', 10000)
    .catch(async () => { throw new Error(`tiles ${await tiles()}`); });
  check((await tpage.locator('#eta-count').textContent()).trim() === '1', 'the pipeline box does not count the retry');
  await row.locator('details.confirm summary').click();
  check(await row.locator('.confirm-box button[data-action=cancel]').isVisible(), 'the first press shows no confirmation');
  check(sql(info, `SELECT phase FROM submissions WHERE id = ${sid}`) === 'llm', 'the first press cancelled already');
  await tpage.locator('#progress').screenshot({ path: path.join(SCREENSHOTS, 'dash-13-cancel-confirm.png') });
  await row.locator('.confirm-box button[data-action=cancel]').click();
  await waitUntil('the row to read Cancelled', async () =>
    (await row.locator('.chip').textContent()).trim() === 'Cancelled', 15000);
  await waitUntil('the tiles to count it as failed', async () => (await tiles()) === '5,0,0,1,5', 10000);
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await spage.setViewportSize(viewport);
    await spage.goto(`${base}/submissions/${sid}`);
    check(await spage.evaluate(() => document.documentElement.scrollWidth) <= viewport.width + 2,
      `the result page scrolls sideways at ${viewport.width} px`);
    check((await spage.locator('#status').textContent()).trim() === 'Cancelled', 'the student does not read Cancelled');
    check((await spage.locator('#error').textContent()).trim() === 'Your teacher cancelled the processing of this recording.',
      'the student does not read who cancelled it');
    check(/ask them, or upload it again/.test(await spage.locator('#advice').textContent()), 'no advice for the student');
    check(await spage.title() === 'Introduction 2 · IntroEval', `the title is ${await spage.title()}`);
    await shot(spage, `dash-14-student-cancelled-${size}`);
    await spage.goto(`${base}/`);
    const links = await spage.$$eval('table.list a', (as) => as.map((a) => a.textContent.trim()));
    check(links.includes('Introduction 1') && links.includes('Introduction 2'), `the student's list reads ${links}`);
    check(!/#\d/.test(await spage.locator('table.list').textContent()), 'the student reads a global number');
    check(await spage.locator('#record-preview').isHidden(), 'the recorder shows an empty preview');
    await shot(spage, `dash-15-student-home-${size}`);
    check(await spage.evaluate(() => document.documentElement.scrollWidth) <= viewport.width + 2,
      `the student's home scrolls sideways at ${viewport.width} px`);
  }
}

async function checkResultsTools(page, base, courseUrl) {
  // Sorting by Overall, then descending: the column is ordered.
  const th = page.locator('#results-table thead th', { hasText: 'Overall' });
  await th.locator('button').click();
  await th.locator('button').press('Enter'); // keyboard works too
  check(await th.getAttribute('aria-sort') === 'descending', 'sorting did not mark the column descending');
  const vals = await page.$$eval('#results-table tbody tr', (trs) => trs.map((tr) => parseFloat(tr.cells[2].textContent)));
  check(vals.every((v, i) => i === 0 || vals[i - 1] >= v), `Overall is not sorted descending: ${vals}`);
  // CSV export.
  const res = await page.request.get(`${courseUrl}/results.csv`);
  check(res.status() === 200, `results.csv answered ${res.status()}`);
  const csv = await res.text();
  const lines = csv.trim().split('\r\n');
  check(lines[0].startsWith('assignment,student,email,section,submission,late,overall'), `CSV header: ${lines[0]}`);
  check(lines.slice(1).every((l) => l.startsWith('"Introduce yourself",')), 'the CSV rows do not name the assignment');
  check(lines.length === 6, `CSV has ${lines.length - 1} rows, not 5`);
  check((res.headers()['content-disposition'] || '').includes('ENG101-assignment-'), 'CSV file name');
  // Filters: section B has two students, instantly, without a reload.
  await page.selectOption('#f-section', 'B');
  const visible = await page.$$eval('#progress tbody tr', (trs) => trs.filter((tr) => !tr.hidden).length);
  check(visible === 2, `section B shows ${visible} rows, not 2`);
  check(page.url().includes('section=B'), 'the filter is not kept in the address');
  await page.selectOption('#f-section', '');
}

async function checkStudentPage(spage) {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    const score = await spage.locator('#overall-score').count();
    if (score > 0) break;
    await sleep(500);
  }
  check(await spage.locator('#overall-score').count() === 1, 'the student page never showed the score');
  check(await spage.evaluate(() => window.__marker) === 'no reload', 'the student page reloaded');
  const logd = await spage.evaluate(() => window.__statusLog);
  log(`student page: ${logd.join(' → ')}`);
  check(logd.length >= 2 && /done/i.test(logd[logd.length - 1]), `the student page did not move to Done: ${logd}`);
  check(await spage.locator('.criterion-score').count() > 0, 'no criterion scores on the student page');
}

async function checkHealth(page, base) {
  await page.setViewportSize(DESKTOP);
  await page.goto(`${base}/admin/health`);
  check(await page.locator('#health-summary').count() === 1, 'no health summary');
  check(await page.locator('#backends tbody tr').count() >= 1, 'no backends on the health page');
  check(await page.locator('#charts svg.chart').count() >= 1, 'no SVG chart on the health page');
  const cols = await page.locator('#charts svg rect.col.done').count();
  check(cols >= 1, 'the throughput chart shows no scored submissions');
  await waitUntil('the health page to go live', async () =>
    (await page.locator('#live-status').getAttribute('data-state')) === 'live', 30000)
    .catch(() => {});
  check((await page.locator('#live-status').getAttribute('data-state')) === 'live', 'the health page is not live');
  await shot(page, 'dash-06-health');
  check(await page.locator('#queue tbody tr').count() === 0, 'finished work is listed in the queue');
  await page.setViewportSize(PHONE);
  await page.reload();
  await shot(page, 'dash-16-health-phone');
  const wide = await page.evaluate(() => [document.documentElement.scrollWidth,
    [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 392)
      .slice(0, 3).map((e) => `${e.tagName}#${e.id}.${e.className}`).join(' ')]);
  check(wide[0] <= 392, `the health page scrolls sideways on a phone: ${wide}`);
  // Chart labels at least 10 px high on a phone.
  const px = await page.$eval('#charts svg.chart text.tick', (t) => t.getBoundingClientRect().height);
  check(px >= 10, `chart labels are ${px} px high on a phone`);
  await page.setViewportSize({ width: 1200, height: 900 });
  const metrics = await page.request.get(`${base}/metrics`);
  check(metrics.status() === 200, `/metrics answered ${metrics.status()} to an admin`);
  const text = await metrics.text();
  check(/introeval_submissions\{phase="completed",status="completed"\} 5/.test(text), 'metrics do not count 5 completed');
  check(/introeval_websocket_clients \d+/.test(text), 'metrics lack the WebSocket clients');
}

async function main() {
  const started = Date.now();
  // Answers streamed at 20 ms a token take a few seconds each: long
  // enough for every row to be seen evaluating.
  // The students start in no course: this test builds its own.
  const env = await startEnv(['--one-fake', '--token-ms', '20', '--no-default-course']);
  const { info } = env;
  const base = info.base_url;
  log(`server at ${base}`);
  let browser;
  let tpage;
  const problems = [];
  try {
    browser = await launchBrowser();
    const admin = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    await signIn(admin, base, info.users.admin);
    const { courseUrl, students } = await setUpCourse(admin, base, info);
    await admin.goto(`${base}/courses`);
    await shot(admin, 'dash-02-courses');

    const tctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    tpage = await tctx.newPage();
    tpage.on('pageerror', (e) => problems.push(`teacher page error: ${e.message}`));
    tpage.on('console', (m) => { if (m.type() === 'error') problems.push(`teacher console: ${m.text()}`); });
    await signIn(tpage, base, info.users.teacher);
    await tpage.goto(courseUrl);
    await tpage.evaluate(installRecorder);
    await tpage.waitForFunction(() => document.getElementById('live-status')?.dataset.state === 'live', null, { timeout: 10000 });

    // Student 1 uploads and watches their own page; the others follow.
    const first = await upload(browser, base, students[0], VIDEOS[0]);
    const spage = first.page;
    spage.on('pageerror', (e) => problems.push(`student page error: ${e.message}`));
    await spage.goto(`${base}/submissions/${first.id}`);
    await spage.evaluate(installRecorder);
    const uploads = [first];
    for (let i = 1; i < 5; i++) uploads.push(await upload(browser, base, students[i], VIDEOS[i]));
    log(`uploaded ${uploads.map((u) => u.id).join(', ')}`);

    // Photograph the pages mid-run, ideally while a row is transcribing.
    let midShot = false;
    for (let i = 0; i < 240 && !midShot; i++) {
      const states = await tpage.$$eval('#progress .chip', (els) => els.map((e) => e.dataset.state));
      const busy = states.includes('transcribing') || (i > 200 && states.some((s) => s !== 'done' && s !== 'none'));
      if (busy) {
        await shot(tpage, 'dash-03-teacher-running');
        await shot(spage, 'dash-04-student-running');
        midShot = true;
      }
      await sleep(250);
    }
    await checkTeacherPage(tpage, midShot);
    await checkStudentPage(spage);
    await shot(spage, 'dash-05-student-done');
    await shot(tpage, 'dash-07-teacher-done');
    await checkResultsTools(tpage, base, courseUrl);
    await checkResultsFit(tpage);

    await checkHealth(admin, base);

    // A phone: the progress table becomes cards, still readable.
    const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
    await signIn(phone, base, info.users.teacher);
    await phone.goto(courseUrl);
    const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 400, `the course page is ${wide} px wide on a phone`);
    await shot(phone, 'dash-08-teacher-phone');

    // Without JavaScript the page still reads.
    const nojs = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    await signIn(nojs, base, info.users.teacher).catch(() => {});
    await nojs.goto(courseUrl);
    check(await nojs.locator('#progress tbody tr .chip.state-done').count() === 5, 'without JavaScript the rows are not shown as done');

    await checkCancel(browser, base, info, tpage, spage, students[0]);
    await admin.goto(`${base}/`);
    await bothSizes(admin, 'dash-17-admin-home');

    if (problems.length) throw new Error(`the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (tpage) await shot(tpage, 'dash-99-failure').catch(() => {});
    throw withServerLog(e, info, 80);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
