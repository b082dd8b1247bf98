// test_accounts.mjs: accounts and course administration in headless
// Chromium (issue 13).
//
// The admin makes a course and enrols the teacher. The teacher reads the
// join code on the course page; a newcomer signs up with a wrong code
// (refused in words, what was typed kept but the password), then the
// right one, and lands on their own page. On the course's manage page
// the teacher checks a class list with two bad rows (both errors shown,
// nothing imported, no way to confirm), loads the fixed file through the
// file input, checks and imports it (the one-time codes shown once); a
// new student sets their password with their code. The teacher then
// disables the newcomer from the members list: the newcomer's open page
// loses its session and signing in says the account is disabled. An old
// course is archived and listed apart. Every page is photographed at
// 1280 and 390 px wide (acc-*.png) and must not scroll sideways.
//
// Run: node tests/browser/test_accounts.mjs (after npm ci in tests/browser).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DESKTOP, bothSizes, check, launchBrowser, log, signIn, startEnv, runMain,
} from './lib.mjs';

function sql(info, statement) {
  const bin = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
  const r = spawnSync(path.join(bin, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-tAc', statement, info.database_url],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim().split('\n')[0];
}

async function submit(page, selector) {
  await Promise.all([page.waitForLoadState('load'), page.waitForNavigation({ timeout: 15000 }), page.click(selector)]);
}

async function main() {
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'introeval-acc-'));
  const browser = await launchBrowser();
  try {
    const admin = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    const teacher = await (await browser.newContext({ viewport: DESKTOP, acceptDownloads: true })).newPage();
    const newcomer = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    const roster = await (await browser.newContext({ viewport: DESKTOP })).newPage();

    // The admin: a course with the teacher, and an old course to archive.
    await signIn(admin, base, info.users.admin.email, info.users.admin.password);
    const courseIds = [];
    for (const [code, title] of [['SPK1', 'Speaking lab'], ['OLD9', 'Last year']]) {
      await admin.goto(`${base}/courses`);
      await admin.fill('#course-form input[name=code]', code);
      await admin.fill('#course-form input[name=title]', title);
      await submit(admin, '#course-form [type=submit]');
      courseIds.push(Number(new URL(admin.url()).pathname.split('/')[2]));
      await admin.fill('#enrol-form input[name=email]', info.users.teacher.email);
      await admin.selectOption('#enrol-form select[name=role]', 'teacher');
      await submit(admin, '#enrol-form [type=submit]');
    }
    const [cid, oldId] = courseIds;

    // The teacher reads the join code on the course page.
    await signIn(teacher, base, info.users.teacher.email, info.users.teacher.password);
    await teacher.goto(`${base}/courses/${cid}`);
    const code = (await teacher.locator('#course-join-code').textContent()).trim();
    check(/^[A-HJ-NP-Z2-9]{8}$/.test(code), `join code ${code}`);
    await bothSizes(teacher, 'acc-01-course-page');

    // A newcomer: a wrong code first, then the right one.
    await newcomer.goto(`${base}/login`);
    await submit(newcomer, 'a[href="/signup"]');
    await newcomer.fill('#join_code', 'WRONG999');
    await newcomer.fill('#name', 'Nia Newcomer');
    await newcomer.fill('#email', 'nia@example.com');
    await newcomer.fill('#password', 'nia-secret-1');
    await submit(newcomer, '#signup-form [type=submit]');
    const err = await newcomer.locator('#signup-error').textContent();
    check(err.includes('join code does not open any course'), `signup error: ${err}`);
    check(await newcomer.inputValue('#name') === 'Nia Newcomer', 'the refused signup lost the name');
    check(await newcomer.inputValue('#email') === 'nia@example.com', 'the refused signup lost the email');
    check(await newcomer.inputValue('#password') === '', 'the refused signup kept the password');
    await bothSizes(newcomer, 'acc-02-signup-refused');
    await newcomer.fill('#join_code', code.toLowerCase());
    await newcomer.fill('#password', 'nia-secret-1');
    await submit(newcomer, '#signup-form [type=submit]');
    check(new URL(newcomer.url()).pathname === '/', `signup landed on ${newcomer.url()}`);
    check((await newcomer.locator('.topbar .who').textContent()).includes('Nia Newcomer'), 'signed in as the newcomer');
    await bothSizes(newcomer, 'acc-03-signed-up-home');
    await newcomer.goto(`${base}/account`);
    await bothSizes(newcomer, 'acc-04-account');

    // The roster: two bad rows are both shown and nothing is imported.
    await teacher.goto(`${base}/courses/${cid}`);
    await submit(teacher, '#course-admin a');
    await bothSizes(teacher, 'acc-05-manage');
    const bad = 'email,name,section,student_number\n' +
      'rita@example.com,"Roe, Rita",A,1001\n' +
      'sam.example.com,Sam Sun,A,1002\n' +
      'tia@example.com,,B,1003\n';
    await teacher.fill('#roster-csv', bad);
    await submit(teacher, '#roster-check');
    const errors = await teacher.locator('#roster-table tr.roster-error').allTextContents();
    check(errors.length === 2, `two rows in error, got ${errors.length}`);
    check(errors[0].includes('is not an email address'), `row error: ${errors[0]}`);
    check(errors[1].includes('the name is missing'), `row error: ${errors[1]}`);
    check(await teacher.locator('#roster-confirm').count() === 0, 'a list in error can be confirmed');
    check(await teacher.inputValue('#roster-csv') === bad, 'the checked list was not kept in the box');
    check(sql(info, "SELECT count(*) FROM users WHERE email IN ('rita@example.com', 'tia@example.com')") === '0',
      'a list in error imported something');
    await bothSizes(teacher, 'acc-06-roster-errors');

    // The fixed file, through the file input.
    const file = path.join(tmp, 'class.csv');
    writeFileSync(file, '\ufeffemail,name,section,student_number\r\n' +
      'rita@example.com,"Roe, Rita",A,1001\r\nsam@example.com,Sam Sun,A,1002\r\n' +
      'tia@example.com,Tia Tan,B,1003\r\n');
    await teacher.setInputFiles('#roster-file', file);
    await teacher.waitForFunction(() => document.getElementById('roster-csv').value.includes('tia@example.com'));
    await submit(teacher, '#roster-check');
    check(await teacher.locator('#roster-table tr.roster-new').count() === 3, 'three new accounts in the preview');
    await bothSizes(teacher, 'acc-07-roster-preview');
    await submit(teacher, '#roster-import');
    const done = await teacher.locator('#roster-done').textContent();
    check(done.includes('3 new accounts'), `import result: ${done}`);
    const codes = await teacher.locator('#roster-table code').allTextContents();
    check(codes.length === 3, `three codes shown, got ${codes.length}`);
    const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.click('#codes-csv')]);
    const saved = path.join(tmp, 'codes.csv');
    await download.saveAs(saved);
    const csv = readFileSync(saved, 'utf8');
    check(csv.startsWith('email,name,section,student_number,code\r\n') && csv.includes('"Roe, Rita"') &&
      codes.every((c) => csv.includes(c)), `the codes' CSV: ${csv}`);
    await bothSizes(teacher, 'acc-08-roster-imported');
    check(sql(info, `SELECT count(*) FROM course_members WHERE course_id = ${cid} AND role = 'student'`) === '4',
      'the import did not enrol the three (and the newcomer)');

    // A new student sets their password with their code.
    await roster.goto(`${base}/reset`);
    await roster.fill('#code', codes[0]);
    await roster.fill('#password', 'rita-secret-1');
    await roster.fill('#password2', 'rita-secret-1');
    await bothSizes(roster, 'acc-09-reset');
    await submit(roster, '#reset-form [type=submit]');
    check(await roster.locator('#reset-done').count() === 1, 'the code did not set the password');
    await signIn(roster, base, 'rita@example.com', 'rita-secret-1');

    // The teacher disables the newcomer from the members list.
    await teacher.goto(`${base}/courses/${cid}/manage`);
    await submit(teacher, '#members-table a:text("Nia Newcomer")');
    await bothSizes(teacher, 'acc-10-user');
    await submit(teacher, '#user-disable');
    check((await teacher.locator('#user-message').textContent()).includes('Disabled'), 'no word that it is disabled');
    check(await teacher.locator('#user-enable').count() === 1, 'no way to enable it again');
    await bothSizes(teacher, 'acc-11-user-disabled');
    await newcomer.goto(`${base}/`);
    check(new URL(newcomer.url()).pathname === '/login', `a disabled account still reads ${newcomer.url()}`);
    await newcomer.fill('form#login input[name=email]', 'nia@example.com');
    await newcomer.fill('form#login input[name=password]', 'nia-secret-1');
    await submit(newcomer, 'form#login [type=submit]');
    const refused = await newcomer.locator('p.alert').textContent();
    check(refused.includes("This account is disabled. Ask your teacher or the lab's admin."), `sign-in said: ${refused}`);
    await bothSizes(newcomer, 'acc-12-login-disabled');

    // The old course is archived and listed apart.
    await teacher.goto(`${base}/courses/${oldId}/manage`);
    await submit(teacher, '#archive');
    check(await teacher.locator('#archived-note').count() === 1, 'no archived note');
    await bothSizes(teacher, 'acc-13-manage-archived');
    await teacher.goto(`${base}/courses`);
    check(await teacher.locator('#archived-courses a:text("OLD9")').count() === 1, 'OLD9 not under Archived');
    await bothSizes(teacher, 'acc-14-courses');
    await admin.goto(`${base}/admin/users`);
    await bothSizes(admin, 'acc-15-users');
    log('accounts: all checks passed');
  } finally {
    await browser.close();
    await env.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main);
