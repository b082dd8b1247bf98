// test_rubrics.mjs: a teacher edits the rubric in the browser, which makes
// a new version, re-evaluates an assignment with it, and a past result
// keeps the version it was scored with (issue 13), in headless Chromium.
//
// A student uploads a short fixture through the JSON API; once scored,
// SQL copies it (transcript, evaluation and file) as the student's later
// submission, makes a course with the teacher and the student, and an
// assignment holding both (the later one counts). The teacher opens
// Rubrics, the default rubric (version 1, used), and edits it without
// JavaScript's help: a bad key is refused with the words next to the
// field and everything typed kept; "More rows" adds rows; the save makes
// version 2. The teacher presses "Re-evaluate ...'s submissions with
// version 2"; the scheduler scores the counting submission again, whose
// result page then names version 2 and shows the new criterion, while
// the earlier submission's page still names version 1. Screenshots of
// every page at 1280 px and on a phone (390×844) go to
// tests/browser/screenshots/ (rubrics-*.png); no page may be wider than
// the phone.
//
// Run: node tests/browser/test_rubrics.mjs (after npm ci in tests/browser).

import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser, log, shortIntro, shot, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
const VIDEO = shortIntro('intro03');
const PSQL = path.join(process.env.PGBIN || '/usr/lib/postgresql/15/bin', 'psql');

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function sql(url, q) {
  const r = spawnSync(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', '-tAc', q, url], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
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

async function noWiderThan(page, px, what) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  check(wide <= px, `${what} is ${wide} px wide`);
}

// Both widths of one page: the desktop shot, then the phone's.
async function bothWidths(page, phone, url, name) {
  await shot(page, `${name}-1280`);
  await phone.goto(url);
  await noWiderThan(phone, 400, `${name} on a phone`);
  await shot(phone, `${name}-390`);
}

// A scored copy of submission id, later than it, with its own file.
function copySubmission(info, id) {
  const stored = sql(info.database_url, `SELECT stored_name FROM submissions WHERE id = ${id}`);
  const ext = path.extname(stored);
  const copy = `copy-${path.basename(stored, ext)}${ext}`;
  const uploads = path.join(info.data_dir, 'uploads');
  copyFileSync(path.join(uploads, stored), path.join(uploads, copy));
  const newId = Number(sql(info.database_url,
    'INSERT INTO submissions (student_id, stored_name, original_name, content_type, size_bytes, ' +
    "duration_s, phase, status, rubric_id, completed_at) SELECT student_id, '" + copy + "', " +
    "original_name, content_type, size_bytes, duration_s, 'completed', 'completed', rubric_id, now() " +
    `FROM submissions WHERE id = ${id} RETURNING id`).split('\n')[0]);
  sql(info.database_url, 'INSERT INTO transcripts (submission_id, engine, text, words, metrics, ' +
    `audio_s, decode_s) SELECT ${newId}, engine, text, words, metrics, audio_s, decode_s ` +
    `FROM transcripts WHERE submission_id = ${id}`);
  sql(info.database_url, 'INSERT INTO evaluations (submission_id, rubric_id, rubric_version, backend, ' +
    `model, scores, overall, feedback, llm_s) SELECT ${newId}, rubric_id, rubric_version, backend, ` +
    `model, scores, overall, feedback, llm_s FROM evaluations WHERE submission_id = ${id}`);
  return newId;
}

function rubricLine(page) {
  return page.evaluate(() => (document.querySelector('#rubric-used')?.textContent || '').trim());
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
    const phoneOpts = { viewport: { width: 390, height: 844 }, isMobile: true };
    spage = await (await browser.newContext(desktop)).newPage();
    spage.on('pageerror', (e) => problems.push(`student page error: ${e.message}`));
    await signIn(spage, base, info.users.student);
    const past = await upload(spage, base);
    await waitUntil('the upload to be scored', async () => {
      const s = await (await spage.request.get(`${base}/api/v1/submissions/${past}`)).json();
      return s.status === 'completed' || s.status === 'failed' ? s : null;
    }, TIMEOUT_MS, 500);
    const latest = copySubmission(info, past);
    const course = sql(info.database_url,
      "INSERT INTO courses (code, title) VALUES ('RUB1', 'Rubric lab') RETURNING id").split('\n')[0];
    sql(info.database_url, "INSERT INTO course_members (course_id, user_id, role) SELECT " +
      `${course}, id, CASE WHEN role = 'teacher' THEN 'teacher' ELSE 'student' END FROM users ` +
      `WHERE email IN ('${info.users.teacher.email}', '${info.users.student.email}')`);
    const asg = sql(info.database_url, 'INSERT INTO assignments (course_id, title, rubric_id) VALUES ' +
      `(${course}, 'Meet the class', rubric_current()) RETURNING id`).split('\n')[0];
    sql(info.database_url, `UPDATE submissions SET assignment_id = ${asg} WHERE id IN (${past}, ${latest})`);
    log(`assignment ${asg}: submissions ${past} (earlier) and ${latest} (counts)`);

    tpage = await (await browser.newContext(desktop)).newPage();
    tpage.on('pageerror', (e) => problems.push(`teacher page error: ${e.message}`));
    // The refused form answers 400 on purpose; Chromium logs that.
    tpage.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('status of 400')) problems.push(`teacher console: ${m.text()}`);
    });
    const tphone = await (await browser.newContext(phoneOpts)).newPage();
    await signIn(tpage, base, info.users.teacher);
    await signIn(tphone, base, info.users.teacher);

    // The list, then the default rubric's version 1.
    await tpage.click('nav a[href="/rubrics"]');
    await tpage.waitForURL(`${base}/rubrics`);
    const listText = await tpage.locator('#rubric-list').textContent();
    check(listText.includes('Self-introduction') && listText.includes('RUB1 · Meet the class'),
      `the list reads "${listText.replace(/\s+/g, ' ')}"`);
    await bothWidths(tpage, tphone, `${base}/rubrics`, 'rubrics-01-list');
    await tpage.click('#rubric-list a:has-text("Self-introduction")');
    await tpage.waitForURL(/\/rubrics\/\d+$/);
    const v1url = tpage.url();
    check((await tpage.locator('h1').first().textContent()).includes('version 1'), 'not version 1');
    check((await tpage.locator('#save-rubric').textContent()).includes('Save as a new version'),
      'a used version does not offer "Save as a new version"');
    await bothWidths(tpage, tphone, v1url, 'rubrics-02-version1');

    // Edit: content weighs 2; a bad key is refused next to its field.
    await tpage.fill('input[name=w_0]', '2');
    await tpage.fill('textarea[name=d_2_3]', 'Understandable; a few long hesitations.');
    await tpage.click('#more-rows');
    await tpage.waitForLoadState();
    check(await tpage.locator('input[name=k_6]').count() === 1, '"More rows" did not add rows');
    check(await tpage.inputValue('input[name=w_0]') === '2', '"More rows" lost the weight typed');
    await tpage.fill('input[name=k_4]', 'Eye Contact');
    await tpage.fill('input[name=t_4]', 'Eye contact');
    await tpage.fill('textarea[name=x_4]', 'Looks at the camera, as at a listener.');
    const [resp] = await Promise.all([
      tpage.waitForNavigation(),
      tpage.click('#save-rubric'),
    ]);
    check(resp.status() === 400, `a bad key answered ${resp.status()}`);
    const err = (await tpage.locator('#row-4 .field-error').textContent()).trim();
    check(err.startsWith('The key "Eye Contact" must match'), `the key's error reads "${err}"`);
    check(await tpage.inputValue('textarea[name=x_4]') === 'Looks at the camera, as at a listener.',
      'the refused form lost the description typed');
    check(await tpage.inputValue('input[name=w_0]') === '2', 'the refused form lost the weight');
    await shot(tpage, 'rubrics-03-refused-1280');
    await tpage.setViewportSize({ width: 390, height: 844 });
    await noWiderThan(tpage, 400, 'the refused form on a phone');
    await shot(tpage, 'rubrics-03-refused-390');
    await tpage.setViewportSize({ width: 1280, height: 900 });
    await tpage.fill('input[name=k_4]', 'eye_contact');
    await Promise.all([
      tpage.waitForURL(/\/rubrics\/\d+\?saved=new$/),
      tpage.click('#save-rubric'),
    ]);
    const v2url = tpage.url();
    const v2 = Number(v2url.match(/\/rubrics\/(\d+)/)[1]);
    check((await tpage.locator('#saved').textContent()).includes('Saved as version 2.'), 'no "Saved as version 2."');
    const crit = (await tpage.locator('#rubric-criteria').textContent()).replace(/\s+/g, ' ');
    check(crit.includes('Eye contact') && crit.includes('a few long hesitations'), `version 2 reads "${crit}"`);
    await bothWidths(tpage, tphone, v2url, 'rubrics-04-version2');
    // Version 1 is as it was.
    await tpage.goto(v1url);
    check(!(await tpage.locator('#rubric-criteria').textContent()).includes('Eye contact'), 'version 1 changed');

    // Re-evaluate the assignment with version 2.
    await tpage.goto(v2url);
    const button = tpage.locator('button.reeval', { hasText: 'Re-evaluate Meet the class’s submissions with version 2' });
    await Promise.all([
      tpage.waitForURL(/\?queued=1$/),
      button.click(),
    ]);
    check((await tpage.locator('#queued').textContent()).includes('1 submission sent back'), 'no queued message');
    await bothWidths(tpage, tphone, tpage.url(), 'rubrics-05-queued');
    await waitUntil('the re-evaluation with version 2', async () => {
      const s = await (await tpage.request.get(`${base}/api/v1/submissions/${latest}`)).json();
      return s.status === 'completed' && s.evaluation && s.evaluation.rubric_id === v2;
    }, TIMEOUT_MS, 500);

    // The counting submission names version 2; the earlier one version 1.
    await spage.goto(`${base}/submissions/${latest}`);
    check(await rubricLine(spage) === 'Rubric: Self-introduction version 2',
      `the re-evaluated page says "${await rubricLine(spage)}"`);
    check(await spage.locator('tr#criterion-eye_contact').count() === 1, 'no Eye contact row');
    await shot(spage, 'rubrics-06-result-v2-1280');
    await spage.goto(`${base}/submissions/${past}`);
    check(await rubricLine(spage) === 'Rubric: Self-introduction version 1',
      `the earlier page says "${await rubricLine(spage)}"`);
    check(await spage.locator('tr#criterion-eye_contact').count() === 0, 'the past result gained a row');
    await shot(spage, 'rubrics-07-result-v1-1280');
    const sphone = await (await browser.newContext(phoneOpts)).newPage();
    await signIn(sphone, base, info.users.student);
    for (const [id, name] of [[latest, 'rubrics-06-result-v2-390'], [past, 'rubrics-07-result-v1-390']]) {
      await sphone.goto(`${base}/submissions/${id}`);
      await noWiderThan(sphone, 400, `result ${id} on a phone`);
      await shot(sphone, name);
    }
    // New rubric form, for the record.
    await bothWidths(tpage, tphone, `${base}/rubrics/new`, 'rubrics-08-new');

    if (problems.length) throw new Error(`the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (tpage) await shot(tpage, 'rubrics-99-teacher-failure').catch(() => {});
    if (spage) await shot(spage, 'rubrics-99-student-failure').catch(() => {});
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
