// test_record.mjs: recording an introduction in the page, in headless
// Chromium with its fake camera and microphone.
//
// 1. Without getUserMedia (taken away before the page loads) the page
//    keeps only the file chooser: section#recorder stays hidden.
// 2. With Chromium's fake devices (--use-fake-device-for-media-stream
//    --use-fake-ui-for-media-stream) a student presses #record-start,
//    records about seven seconds (the shortest accepted recording is
//    five), presses #record-stop, sees the recording in
//    video#record-preview and presses #record-upload. The recording must
//    arrive through the tus upload as a webm video and become a
//    submission. The fake microphone plays beeps, not speech, so the
//    submission either completes or fails with exactly "we could not hear
//    speech in this recording"; any other outcome fails the test.
// Screenshots land in tests/browser/screenshots/record-*.png.
//
// Run: node tests/browser/test_record.mjs (after npm ci in tests/browser).

import { chromium } from 'playwright-core';
import { CHROMIUM, log, shot, sleep, startEnv, runMain, withServerLog } from './lib.mjs';

const RESULT_TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
const RECORD_MS = 7000;
const SILENT = 'the recording is silent: we could not hear speech in it (was the microphone muted?)';

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// lib.mjs's flags plus Chromium's fake camera and microphone.
function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required'],
  });
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

async function fallback(browser, base, user) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'mediaDevices', { get: () => undefined });
  });
  const page = await context.newPage();
  await signIn(page, base, user);
  check(await page.locator('input#video[type=file]').isVisible(),
    'without a camera the file chooser is missing');
  check(await page.locator('section#recorder').isHidden(),
    'without getUserMedia the recorder is shown anyway');
  await shot(page, 'record-01-no-camera');
  await context.close();
}

async function record(page) {
  await page.locator('section#recorder').waitFor({ state: 'visible', timeout: 5000 });
  await page.click('#record-start');
  await page.waitForFunction(() => !document.querySelector('#record-stop').disabled,
    null, { timeout: 10000 });
  await sleep(RECORD_MS / 2);
  await shot(page, 'record-02-recording');
  await sleep(RECORD_MS / 2);
  await page.click('#record-stop');
  await page.waitForFunction(() => !document.querySelector('#record-upload').disabled,
    null, { timeout: 10000 });
  const src = await page.getAttribute('video#record-preview', 'src');
  check(src && src.startsWith('blob:'), `the preview does not show the recording (src ${src})`);
  log(`recorded: ${await page.textContent('#record-message')}`);
  await shot(page, 'record-03-recorded');
  await page.click('#record-upload');
  await page.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 });
  return Number(page.url().match(/(\d+)$/)[1]);
}

// The submission's JSON, fetched by the page with its own session.
async function submission(page, id) {
  return page.evaluate(async (sid) => {
    const r = await fetch(`/api/v1/submissions/${sid}`, { headers: { Accept: 'application/json' } });
    return r.json();
  }, id);
}

async function waitForOutcome(page, id) {
  const deadline = Date.now() + RESULT_TIMEOUT_MS;
  let sub = null;
  while (Date.now() < deadline) {
    sub = await submission(page, id).catch(() => null);
    if (sub && (sub.status === 'completed' || sub.status === 'failed')) return sub;
    await sleep(1000);
  }
  throw new Error(`submission ${id} unfinished: ${JSON.stringify(sub)}`);
}

async function main() {
  const env = await startEnv(['--one-fake', '--set', 'INTROEVAL_BATCH_WINDOW_S=1']);
  const { info } = env;
  let browser;
  let page;
  try {
    browser = await launch();
    await fallback(browser, info.base_url, info.users.student);
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.grantPermissions(['camera', 'microphone'], { origin: info.base_url });
    page = await context.newPage();
    await signIn(page, info.base_url, info.users.student);
    const id = await record(page);
    const first = await submission(page, id);
    log(`submission ${id}: ${first.original_name}, ${first.content_type}, ${first.duration_s} s`);
    check(/^recording-.*\.webm$/.test(first.original_name), `unexpected name ${first.original_name}`);
    check(first.content_type === 'video/webm', `stored as ${first.content_type}, not video/webm`);
    check(first.duration_s >= 5 && first.duration_s < 15, `duration ${first.duration_s} s`);
    const sub = await waitForOutcome(page, id);
    await page.reload();
    await shot(page, 'record-04-result');
    if (sub.status === 'failed') {
      check(sub.error === SILENT, `the recording failed with "${sub.error}"`);
      log(`failed as expected for beeps: "${sub.error}"`);
    } else {
      log(`completed; heard "${sub.transcript && sub.transcript.text}"`);
    }
  } catch (e) {
    if (page) await shot(page, 'record-99-failure').catch(() => {});
    throw withServerLog(e, info, 40);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
