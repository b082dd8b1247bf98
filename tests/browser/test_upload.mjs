// test_upload.mjs: a student signs in, uploads a video through the page
// and sees it scored, in headless Chromium.
//
// Starts its own environment (tests/integration/harness.py --serve-env),
// signs in through form#login, picks intro02.mp4 (its first 6.5 s) in
// input#video, presses button#upload-btn (the upload is throttled through the DevTools protocol
// so that progress#upload-progress can be caught mid-way), follows the
// page to /submissions/ID and waits up to 180 s for #overall-score and the
// .criterion-score elements. Screenshots of every page land in
// tests/browser/screenshots/. Exits non-zero with a message on failure.
//
// Run: node tests/browser/test_upload.mjs (after npm ci in tests/browser).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, log, shortIntro, shot, sleep, startEnv, runMain, withServerLog } from './lib.mjs';
import { checkTranscript } from './transcript_checks.mjs';

const RESULT_TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
// The page is the subject, not the words: intro02's first seconds.
const VIDEO = shortIntro('intro02');

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  check(await page.locator('form#login').count() === 1,
    'the login page has no form#login');
  await shot(page, '01-login');
  await page.fill('form#login input[name=email]', user.email);
  await page.fill('form#login input[name=password]', user.password);
  await Promise.all([
    page.waitForURL(`${base}/`, { timeout: 15000 }),
    page.click('form#login [type=submit]'),
  ]);
  log(`signed in as ${user.email}`);
}

// throttle(page, bytesPerSecond): slow the page's uploads (0 lifts it).
async function throttle(cdp, bytesPerSecond) {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond > 0 ? bytesPerSecond : -1,
  });
}

// refused(page): a file that is not a video reads as an error, in
// words, with what to do next; the page stays where it is.
async function refused(page) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'introeval-refused-'));
  const bad = path.join(dir, 'notes.mp4');
  writeFileSync(bad, 'these are my notes, not a video\n'.repeat(200));
  try {
    const before = page.url();
    await page.setInputFiles('input#video', bad);
    await page.click('button#upload-btn');
    await page.waitForSelector('#upload-message.alert', { timeout: 30000 });
    const seen = await page.evaluate(() => ({
      text: document.querySelector('#upload-message').textContent,
      role: document.querySelector('#upload-message').getAttribute('role'),
      barHidden: document.querySelector('progress#upload-progress').hidden,
    }));
    check(/this file is text, not a video/i.test(seen.text),
      `a text file was refused with "${seen.text}"`);
    check(/choose another/i.test(seen.text),
      `the refusal says nothing of what to do next: "${seen.text}"`);
    check(seen.role === 'alert' && seen.barHidden,
      `the refusal still looks like progress (role ${seen.role}, bar hidden ${seen.barHidden})`);
    check(page.url() === before, `a refused upload left the page for ${page.url()}`);
    await shot(page, '02b-refused');
    log(`refused: "${seen.text}"`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function upload(page, cdp) {
  check(await page.locator('input#video[type=file]').count() === 1,
    'the home page has no input#video[type=file]');
  check(await page.locator('button#upload-btn').count() === 1,
    'the home page has no button#upload-btn');
  await shot(page, '02-home');
  const size = readFileSync(VIDEO).length;
  await page.setInputFiles('input#video', VIDEO);
  // About three seconds of upload, so the progress bar shows.
  await throttle(cdp, Math.ceil(size / 3));
  await page.click('button#upload-btn');
  let caught = false;
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && !/\/submissions\/\d+$/.test(page.url())) {
    const p = await page.evaluate(() => {
      const el = document.querySelector('progress#upload-progress');
      return el ? { value: el.value, max: el.max } : null;
    }).catch(() => null);
    if (p && p.value >= p.max * 0.3 && p.value < p.max) {
      log(`upload progress ${p.value}/${p.max}`);
      await shot(page, '03-uploading');
      caught = true;
      break;
    }
    await sleep(100);
  }
  if (!caught) log('did not catch the progress bar mid-upload');
  await page.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 });
  await throttle(cdp, 0);
  log(`now on ${page.url()}`);
}

// waitForResult(page): the result page refreshes itself until the work is
// done; read #status and #overall-score between reloads.
async function waitForResult(page) {
  const deadline = Date.now() + RESULT_TIMEOUT_MS;
  let status = '';
  let waitingShot = false;
  while (Date.now() < deadline) {
    let snap = null;
    try {
      snap = await page.evaluate(() => ({
        status: (document.querySelector('#status')?.textContent || '').trim(),
        score: (document.querySelector('#overall-score')?.textContent || '').trim(),
        error: (document.querySelector('#error')?.textContent || '').trim(),
      }));
    } catch {
      snap = null; // the page is reloading
    }
    if (snap) {
      status = snap.status;
      if (snap.score !== '') return snap;
      if (/failed/i.test(status)) {
        throw new Error(`the submission failed: "${status}" ${snap.error}`);
      }
      if (!waitingShot && status) {
        await shot(page, '04-result-waiting').catch(() => {});
        waitingShot = true;
      }
    }
    await sleep(250);
  }
  throw new Error(`no score after ${RESULT_TIMEOUT_MS / 1000} s; last status "${status}"`);
}

// checkPlayer(page): the result page's recording loads from the
// authorized media route and seeks (Chromium asks for byte ranges).
async function checkPlayer(page) {
  check(await page.locator('video#player').count() === 1,
    'the result page has no video#player');
  const seen = await page.evaluate(async () => {
    const v = document.querySelector('video#player');
    const event = (name) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${name} in 20 s`)), 20000);
      v.addEventListener(name, () => { clearTimeout(t); resolve(); }, { once: true });
      v.addEventListener('error', () => {
        clearTimeout(t);
        reject(new Error(`media error ${v.error && v.error.code}`));
      }, { once: true });
    });
    if (v.readyState < 1) {
      v.load();
      await event('loadedmetadata');
    }
    const duration = v.duration;
    const seeked = event('seeked');
    v.currentTime = duration / 2;
    await seeked;
    return { duration, at: v.currentTime, src: v.currentSrc };
  });
  check(seen.duration > 5, `the recording's duration is ${seen.duration}`);
  check(Math.abs(seen.at - seen.duration / 2) < 1,
    `seeking to ${seen.duration / 2} s landed at ${seen.at} s`);
  check(/\/api\/v1\/submissions\/\d+\/media$/.test(seen.src),
    `the player plays ${seen.src}`);
  log(`player: ${seen.duration.toFixed(1)} s long, seeked to ${seen.at.toFixed(1)} s`);
  await shot(page, '05b-player');
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  log(`server at ${info.base_url}`);
  let browser;
  let page;
  try {
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');

    await signIn(page, info.base_url, info.users.student);
    await refused(page);
    await upload(page, cdp);
    const result = await waitForResult(page);
    await shot(page, '05-result');
    const score = Number(result.score.replace(/\/.*$/, '').trim());
    check(Number.isFinite(score), `#overall-score is not a number: "${result.score}"`);
    const criteria = await page.locator('.criterion-score').count();
    check(criteria > 0, 'the result page shows no .criterion-score');
    log(`status "${result.status}", overall ${result.score}, ${criteria} criteria`);
    await checkPlayer(page);
    await checkTranscript(page, info.base_url, info.users.student2);

    await page.goto(`${info.base_url}/`);
    await shot(page, '06-home-after');
    if (problems.length) log(`browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (page) await shot(page, '99-failure').catch(() => {});
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
