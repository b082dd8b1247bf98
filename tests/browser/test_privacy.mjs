// test_privacy.mjs: consent before the first upload, and a retention run
// that removes a recording while its result page says so (issue 13).
//
// The admin writes a consent text on /admin/consent. The student's home
// page then shows that text with "I agree" instead of the upload form;
// after agreeing, the student uploads through the page and waits for the
// scored result. The upload is backdated past retention_days (1) with
// SQL and `introeval retention-run` removes it: the result page then
// reads "The recording was removed on DATE under the lab's retention
// policy ..." where the player was, and the transcript is still there.
// The student asks for deletion (with its confirmation step); the admin
// sees it on /admin/requests and the audit log lists it all. Every page
// is photographed at 1280 px and 390 px (privacy-*.png), must not be
// wider than the phone, and any page or console error fails the test.
//
// Run: node tests/browser/test_privacy.mjs (after npm ci in tests/browser).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO, launchBrowser, log, shortIntro, shot, startEnv, runMain } from './lib.mjs';

const TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
const VIDEO = shortIntro('intro03');
const CONSENT = 'Your video and voice are stored on the lab\'s server so that your teacher can give feedback.\n\n' +
  'Recordings are removed after the course; transcripts and scores are kept.';
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };
const BIN = process.env.INTROEVAL_BIN || path.join(REPO, 'build', 'introeval');
const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';

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

async function newPage(browser, opts, who, problems) {
  const page = await (await browser.newContext(opts)).newPage();
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${who} console: ${m.text()}`);
  });
  return page;
}

// Both widths of one address, for the eyes, with the session of page
// (signed in already); the phone must not scroll sideways.
async function photograph(browser, signedIn, base, address, name, problems) {
  const storageState = await signedIn.context().storageState();
  for (const [label, opts] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const page = await newPage(browser, { ...opts, storageState }, `${name} ${label}`, problems);
    await page.goto(`${base}${address}`);
    if (label === 'phone') {
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 390, `${address} is ${wide} px wide on a phone`);
    }
    await shot(page, `privacy-${name}-${label}`);
    await page.context().close();
  }
}

function psql(info, sql) {
  const r = spawnSync(path.join(PGBIN, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-tAc', sql, info.database_url],
    { encoding: 'utf8' });
  check(r.status === 0, `psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

function retentionRun(info) {
  const r = spawnSync(BIN, ['retention-run'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      DATABASE_URL: info.database_url,
      INTROEVAL_DATA_DIR: info.data_dir,
      INTROEVAL_SHARE_DIR: REPO,
      INTROEVAL_RETENTION_DAYS: '1',
      INTROEVAL_LOG_LEVEL: 'warn',
    },
  });
  check(r.status === 0, `retention-run failed: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

async function adminSetsConsent(browser, base, info, problems) {
  const admin = await newPage(browser, DESKTOP, 'admin', problems);
  await signIn(admin, base, info.users.admin);
  const item = await admin.locator('#first-run a[href="/admin/consent"]').textContent();
  check(/recording consent/.test(item), `the checklist item reads "${item}"`);
  await admin.click('nav a[href="/admin/consent"]');
  check(await admin.locator('#consent-none').count() === 1, 'the consent page does not say none is set');
  await admin.fill('#consent-body', CONSENT);
  await Promise.all([admin.waitForURL(/saved=/), admin.click('#consent-save')]);
  const saved = await admin.locator('#consent-saved').textContent();
  check(/version 1/.test(saved), `the page says "${saved}"`);
  return admin;
}

async function studentAgreesAndUploads(browser, base, info, problems) {
  const student = await newPage(browser, DESKTOP, 'student', problems);
  await signIn(student, base, info.users.student);
  check(await student.locator('#upload-form').count() === 0, 'the upload form shows before consent');
  check(await student.locator('#recorder').count() === 0, 'the recorder shows before consent');
  const text = await student.locator('#consent-text').textContent();
  check(text.includes('Recordings are removed after the course'), `the consent text reads "${text}"`);
  await Promise.all([student.waitForURL(/privacy=accepted/), student.click('#consent-agree')]);
  check(await student.locator('#upload-form').count() === 1, 'no upload form after agreeing');
  await student.setInputFiles('input#video', VIDEO);
  await Promise.all([
    student.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 }),
    student.click('button#upload-btn'),
  ]);
  await student.waitForSelector('#overall-score', { timeout: TIMEOUT_MS });
  check(await student.locator('#player').count() === 1, 'the result page has no player before retention');
  return student;
}

async function retentionRemoves(student, info) {
  const id = Number(student.url().match(/(\d+)$/)[1]);
  psql(info, `UPDATE submissions SET created_at = now() - interval '3 days' WHERE id = ${id}`);
  const out = retentionRun(info);
  check(/^removed 1 recording, \d+ bytes freed/.test(out), `retention-run printed "${out}"`);
  log(out);
  await student.reload();
  const note = await student.locator('#media-removed').textContent();
  const today = new Date().toISOString().slice(0, 10);
  check(note === `The recording was removed on ${today} under the lab's retention policy ` +
    '(1 day after the assignment closed). The transcript, scores and comments are kept.',
  `the result page says "${note}"`);
  check(await student.locator('#player').count() === 0, 'the player is still there');
  check((await student.locator('#transcript').textContent()).trim().length > 0, 'the transcript is gone');
  return id;
}

async function studentAsksForDeletion(student, base) {
  await student.goto(`${base}/`);
  check(await student.locator('#export-link').count() === 1, 'no "Download my data" link');
  await student.click('#deletion summary');
  await Promise.all([student.waitForURL(/privacy=requested/), student.click('#deletion-yes')]);
  check(await student.locator('#deletion-pending').count() === 1, 'the page does not say deletion was asked for');
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake', '--set', 'INTROEVAL_RETENTION_DAYS=1']);
  const { info } = env;
  const base = info.base_url;
  log(`server at ${base}`);
  const problems = [];
  let browser;
  let student;
  try {
    browser = await launchBrowser();
    const admin = await adminSetsConsent(browser, base, info, problems);
    const since = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    log(`consent saved at ${since()}`);
    student = await studentAgreesAndUploads(browser, base, info, problems);
    log(`scored at ${since()}`);
    const id = await retentionRemoves(student, info);
    await studentAsksForDeletion(student, base);

    await admin.goto(`${base}/admin/requests`);
    check((await admin.locator('#requests').textContent()).includes(info.users.student.email),
      'the admin does not see the request');
    await admin.goto(`${base}/admin/audit`);
    const audit = await admin.locator('#audit').textContent();
    for (const a of ['consent.set', 'consent.accepted', 'retention.run', 'deletion.requested'])
      check(audit.includes(a), `the audit log lacks ${a}`);

    // Every page at both widths (a second student sees the consent step).
    const other = await newPage(browser, DESKTOP, 'student2', problems);
    await signIn(other, base, info.users.student2);
    await photograph(browser, other, base, '/', 'home-consent', problems);
    await photograph(browser, student, base, '/', 'home', problems);
    await photograph(browser, student, base, `/submissions/${id}`, 'removed', problems);
    for (const p of ['consent', 'requests', 'audit'])
      await photograph(browser, admin, base, `/admin/${p}`, p, problems);
    check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (student) await shot(student, 'privacy-99-failure').catch(() => {});
    process.stderr.write(env.stderr().slice(-4000));
    throw e;
  } finally {
    if (browser) await browser.close();
    await env.stop();
  }
}

runMain(main);
