// test_jobs.mjs: a natural-language job request in headless Chromium
// (issue 14).
//
// The student uploads a short clip through the API and it is scored; SQL
// copies of it (transcript and evaluation) stand for the other uploads,
// as tests/integration/test_jobs.py does. The test's own course JB
// (the teacher's) has the student in section A and student2 in section
// B, and three assignments. Failed uploads: student2's for assignments
// 1 and 3 today (section B: these two match), student2's for assignment
// 2 three days ago (too old) and the student's for assignment 1 today
// (section A). The stand-in model is then slowed so that a re-run can be
// seen on its way.
//
// The teacher types "re-evaluate section B's failed uploads from today"
// in the box on the course page (the home page has one too), lands on
// the preview (2 matched: the two uploads, nothing changed yet),
// confirms, lands on the job page and watches both uploads re-run to
// completed there, the page updating itself (no reload); then the
// history (/jobs) lists the job with the teacher's words. Screenshots: tests/browser/screenshots/jobs-*.png,
// 1280 and 390 px wide, no page wider than the window.
//
// Run: node tests/browser/test_jobs.mjs (after npm ci in tests/browser).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser, log, shortIntro, shot, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const VIDEO = shortIntro('intro02');
const REQUEST = "re-evaluate section B's failed uploads from today";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function sql(info, statement) {
  const bin = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
  const r = spawnSync(path.join(bin, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-tAc', statement, info.database_url],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim().split('\n')[0];
}

async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  await page.fill('form#login input[name=email]', user.email);
  await page.fill('form#login input[name=password]', user.password);
  await Promise.all([page.waitForURL(`${base}/`, { timeout: 15000 }), page.click('form#login [type=submit]')]);
}

async function bothSizes(page, name) {
  for (const [size, viewport] of [['1280', DESKTOP], ['390', PHONE]]) {
    await page.setViewportSize(viewport);
    await shot(page, `jobs-${name}-${size}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= viewport.width + 2, `${page.url()} is ${wide} px wide at ${viewport.width} px`);
  }
  await page.setViewportSize(DESKTOP);
}

// A scored copy of submission id for another student (no file of its
// own: a re-evaluation reads the transcript only).
function copySubmission(info, id, student) {
  const newId = Number(sql(info,
    'INSERT INTO submissions (student_id, stored_name, original_name, content_type, size_bytes, ' +
    `duration_s, phase, status, rubric_id, completed_at) SELECT ${student}, 'copy-' || gen_random_uuid() || '-' || ` +
    "stored_name, original_name, content_type, size_bytes, duration_s, 'completed', 'completed', rubric_id, now() " +
    `FROM submissions WHERE id = ${id} RETURNING id`));
  sql(info, 'INSERT INTO transcripts (submission_id, engine, text, words, metrics, audio_s, decode_s) ' +
    `SELECT ${newId}, engine, text, words, metrics, audio_s, decode_s FROM transcripts WHERE submission_id = ${id}`);
  sql(info, 'INSERT INTO evaluations (submission_id, rubric_id, rubric_version, backend, model, scores, overall, ' +
    `feedback, llm_s) SELECT ${newId}, rubric_id, rubric_version, backend, model, scores, overall, feedback, llm_s ` +
    `FROM evaluations WHERE submission_id = ${id}`);
  return newId;
}

// POST /_control on the stand-in model.
async function fakeControl(url, settings) {
  const r = await fetch(`${url}/_control`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(settings) });
  check(r.ok, `the stand-in model's /_control answered ${r.status}`);
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  let browser;
  try {
    browser = await launchBrowser();
    // The student's scored upload.
    const spage = await (await browser.newContext()).newPage();
    await signIn(spage, base, info.users.student);
    const me = await (await spage.request.get(`${base}/api/v1/me`)).json();
    const up = await spage.request.post(`${base}/api/v1/submissions`, {
      headers: { 'Content-Type': 'video/mp4', 'X-CSRF-Token': me.csrf_token, 'X-Filename': 'intro.mp4' },
      data: readFileSync(VIDEO),
    });
    check(up.status() === 201, `the upload answered ${up.status()}: ${await up.text()}`);
    const orig = (await up.json()).id;
    await waitUntil('the upload to be scored', async () => {
      const s = await (await spage.request.get(`${base}/api/v1/submissions/${orig}`)).json();
      check(s.status !== 'failed', `the upload failed: ${s.error_message}`);
      return s.status === 'completed';
    }, 150000, 500);
    log(`upload ${orig} scored after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The course, its sections and assignments, the failed uploads.
    const uid = (key) => Number(sql(info, `SELECT id FROM users WHERE email = '${info.users[key].email}'`));
    const [student, student2] = [uid('student'), uid('student2')];
    sql(info, 'DELETE FROM course_members');
    const course = Number(sql(info, "INSERT INTO courses (code, title) VALUES ('JB', 'Job practice') RETURNING id"));
    sql(info, `INSERT INTO course_members (course_id, user_id, role) SELECT ${course}, id, 'teacher' FROM users ` +
      `WHERE email = '${info.users.teacher.email}'`);
    sql(info, `INSERT INTO course_members (course_id, user_id, role, section) VALUES (${course}, ${student}, 'student', 'A'), ` +
      `(${course}, ${student2}, 'student', 'B')`);
    const asg = [1, 2, 3].map((n) => Number(sql(info,
      `INSERT INTO assignments (course_id, title) VALUES (${course}, 'Talk ${n}') RETURNING id`)));
    const bToday1 = copySubmission(info, orig, student2);
    const bOld = copySubmission(info, orig, student2);
    const bToday3 = copySubmission(info, orig, student2);
    for (const [sub, a] of [[orig, asg[0]], [bToday1, asg[0]], [bOld, asg[1]], [bToday3, asg[2]]]) {
      sql(info, `UPDATE submissions SET course_id = ${course}, assignment_id = ${a}, phase = 'failed', status = 'failed', ` +
        `error_message = 'the model did not answer', completed_at = now() WHERE id = ${sub}`);
    }
    sql(info, `UPDATE submissions SET created_at = now() - interval '3 days' WHERE id = ${bOld}`);
    const expected = [bToday1, bToday3];
    const stateOf = () => sql(info, "SELECT (SELECT count(*) FROM jobs) || ':' || string_agg(id || phase || status, ',' " +
      'ORDER BY id) FROM submissions');
    // Each model answer now takes a while: the re-run can be seen on its way.
    await fakeControl(info.fakes[0], { latency_ms: 2000 });

    // The teacher types the request in the box on the course page.
    const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await signIn(page, base, info.users.teacher);
    check(await page.locator('#job-request-form').count() === 1, 'the staff home page has no request box');
    await page.goto(`${base}/courses/${course}`);
    check(await page.locator('#job-request-form').count() === 1, 'the course page has no request box');
    await page.fill('#job-request-text', REQUEST);
    await shot(page, 'jobs-01-course-box-1280');
    const before = stateOf();
    await Promise.all([page.waitForURL(/\/jobs\/new\?/, { timeout: 20000 }), page.click('#job-request-form [type=submit]')]);

    // The preview: what it will do, the count, the list; nothing changed.
    check((await page.locator('#job-count').textContent()).trim() === String(expected.length),
      `the preview counts ${await page.locator('#job-count').textContent()}, not ${expected.length}`);
    const listed = await page.$$eval('#job-match-list tbody tr td:first-child a', (as) => as.map((a) => Number(a.textContent)));
    check(JSON.stringify(listed.sort((x, y) => x - y)) === JSON.stringify(expected),
      `the preview lists ${listed}, not ${expected} (section A's ${orig}, the older ${bOld} must not be there)`);
    const summary = (await page.locator('#job-summary').innerText()).trim();
    check(/section B/i.test(summary) && /fail/i.test(summary), `the summary reads: ${summary}`);
    check(/rules/.test(await page.locator('#job-parser').innerText()), 'the preview does not say the rules read it');
    check(await page.locator('#job-questions').count() === 0, 'the preview asks questions');
    check(await page.inputValue('#job-request-text') === REQUEST, 'the preview lost the words typed');
    check(await page.isEnabled('#job-confirm'), 'the confirm button is disabled');
    check(stateOf() === before, 'the preview changed something');
    await bothSizes(page, '02-preview');

    // Confirm: the job page, where both uploads re-run to completed live.
    await Promise.all([page.waitForURL(/\/jobs\/\d+$/, { timeout: 20000 }), page.click('#job-confirm')]);
    const job = Number(page.url().match(/(\d+)$/)[1]);
    await page.evaluate(() => { window.stillThisPage = true; });
    const rows = () => page.$$eval('#job-items tbody tr', (trs) => trs.map((tr) => ({
      id: Number(tr.dataset.submission),
      status: tr.querySelector('[data-field=status]').textContent.trim(),
      item: tr.querySelector('[data-field=item]').textContent.trim(),
    })));
    const first = await rows();
    check(JSON.stringify(first.map((r) => r.id).sort((x, y) => x - y)) === JSON.stringify(expected),
      `the job page lists ${first.map((r) => r.id)}`);
    check((await page.locator('#job-matched').textContent()).trim() === '2', 'the job page does not say 2 matched');
    log(`job ${job} at first: ${JSON.stringify(first)}`);
    await waitUntil('the job page to go live', async () =>
      (await page.getAttribute('#live-status', 'data-state')) === 'live', 15000);
    await shot(page, 'jobs-03-running-1280');
    const seen = new Set(first.map((r) => r.status));
    await waitUntil('both uploads to re-run to completed on the job page', async () => {
      const now = await rows();
      for (const r of now) seen.add(r.status);
      return now.every((r) => r.status === 'completed') &&
        (await page.locator('#job-done').textContent()).trim() === '2' &&
        (await page.locator('#job-state').textContent()).trim() === 'done';
    }, 120000, 250).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await rows())}`); });
    check(await page.evaluate(() => window.stillThisPage === true), 'the job page was reloaded');
    check([...seen].some((s) => s !== 'completed' && s !== 'failed'),
      `the job page never showed an upload on its way (saw ${[...seen]})`);
    check((await page.locator('#job-failed').textContent()).trim() === '0', 'the job page counts failures');
    check(await page.locator('#job-cancel').count() === 0, 'a finished job still offers to cancel');
    check(sql(info, `SELECT string_agg(status, ',' ORDER BY id) FROM submissions WHERE id IN (${orig}, ${bOld})`) ===
      'failed,failed', 'an upload the job did not match was re-run');
    await bothSizes(page, '04-done');

    // The history: the job, in the teacher's words, done.
    await page.goto(`${base}/jobs`);
    const row = page.locator(`#job-list tbody tr[data-job="${job}"]`);
    check(await row.count() === 1, 'the history does not list the job');
    const text = await row.innerText();
    check(text.includes(`“${REQUEST}”`) && text.includes('Test Teacher') && text.includes('JB') && /\bdone\b/.test(text),
      `the history's row reads: ${text}`);
    await bothSizes(page, '05-history');
    check(problems.length === 0, `the pages reported: ${problems.join('; ')}`);
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close();
    await env.stop();
  }
}

runMain(main);
