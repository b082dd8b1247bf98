// test_resume.mjs: the upload page's tus client survives a dropped
// connection and a reloaded page, in headless Chromium.
//
// The browser talks to the server through a small TCP relay in this
// process, so the test can cut every connection the way a flaky network
// does (Chromium's offline emulation does not stop a request already
// being sent).
// 1. A student uploads intro02.mp4 with the upload throttled through the
//    DevTools protocol; a third of the way in the relay cuts the
//    connection and refuses new ones for a few seconds. The page must say
//    it is retrying, then ask the server for its offset (HEAD) and send
//    only the rest (a PATCH whose Upload-Offset is above 0), then open
//    the new submission's page.
// 2. An upload is cut by reloading the page; choosing the same file again
//    must go on from the server's offset (the upload's address is kept in
//    localStorage), not start over.
// Screenshots land in tests/browser/screenshots/resume-*.png.
//
// Run: node tests/browser/test_resume.mjs (after npm ci in tests/browser).

import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SHARED, launchBrowser, log, shot, sleep, startEnv, runMain, withServerLog } from './lib.mjs';

const VIDEO = path.join(SHARED, 'fixtures', 'intros', 'intro02.mp4');

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

// relay(port): a TCP relay to 127.0.0.1:port; cut() ends every open
// connection and refuses new ones for ms milliseconds.
function relay(port) {
  const open = new Set();
  let refuseUntil = 0;
  const server = net.createServer((down) => {
    if (Date.now() < refuseUntil) { down.destroy(); return; }
    const up = net.connect(port, '127.0.0.1');
    for (const [a, b] of [[down, up], [up, down]]) {
      open.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => { open.delete(a); b.destroy(); });
      a.pipe(b);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      cut(ms) {
        refuseUntil = Date.now() + ms;
        for (const s of open) s.destroy();
      },
      close() {
        for (const s of open) s.destroy();
        server.close();
      },
    }));
  });
}

async function network(cdp, { bytesPerSecond = 0 }) {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond > 0 ? bytesPerSecond : -1,
  });
}

// Every tus request the page makes: { method, offset }.
function watchTus(page) {
  const seen = [];
  page.on('request', (req) => {
    if (!req.url().includes('/api/v1/uploads')) return;
    const h = req.headers();
    seen.push({ method: req.method(), offset: Number(h['upload-offset'] ?? -1) });
  });
  return seen;
}

async function progress(page) {
  return page.evaluate(() => {
    const el = document.querySelector('progress#upload-progress');
    return el ? el.value : 0;
  }).catch(() => 0);
}

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function dropAndResume(page, cdp, net1, size) {
  const seen = watchTus(page);
  await page.setInputFiles('input#video', VIDEO);
  await network(cdp, { bytesPerSecond: Math.ceil(size / 6) });
  await page.click('button#upload-btn');
  await waitFor('a third of the upload', async () => (await progress(page)) >= 33, 15000);
  net1.cut(2500);
  log(`connection cut at ${await progress(page)}%`);
  await waitFor('the retry message', async () =>
    /trying again/i.test(await page.textContent('#upload-message')), 15000);
  await shot(page, 'resume-01-dropped');
  await network(cdp, { bytesPerSecond: Math.ceil(size / 3) });
  await page.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 });
  await network(cdp, {});
  const heads = seen.filter((r) => r.method === 'HEAD');
  const patches = seen.filter((r) => r.method === 'PATCH');
  log(`requests: ${seen.map((r) => `${r.method}@${r.offset}`).join(' ')}`);
  check(seen.filter((r) => r.method === 'POST').length === 1, 'the upload was created more than once');
  check(heads.length >= 1, 'no HEAD after the drop');
  check(patches.length >= 2 && patches[patches.length - 1].offset > 0,
    'the upload did not resume from an offset above 0');
  await shot(page, 'resume-02-done');
}

async function reloadAndResume(page, cdp, base, size) {
  await page.goto(`${base}/`);
  await page.setInputFiles('input#video', VIDEO);
  await network(cdp, { bytesPerSecond: Math.ceil(size / 6) });
  await page.click('button#upload-btn');
  await waitFor('40% of the upload', async () => (await progress(page)) >= 40, 15000);
  await page.reload();
  await network(cdp, {});
  const stored = await page.evaluate(() => Object.keys(localStorage)
    .filter((k) => k.startsWith('introeval-upload:')).length);
  check(stored === 1, `expected one kept upload in localStorage, found ${stored}`);
  const seen = watchTus(page);
  await page.setInputFiles('input#video', VIDEO);
  await page.click('button#upload-btn');
  await page.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 });
  log(`after reload: ${seen.map((r) => `${r.method}@${r.offset}`).join(' ')}`);
  check(seen[0] && seen[0].method === 'HEAD', 'the page did not ask for the offset first');
  check(!seen.some((r) => r.method === 'POST'), 'the page started over after the reload');
  const first = seen.find((r) => r.method === 'PATCH');
  check(first && first.offset > 0, 'the first PATCH after the reload started at 0');
  const left = await page.evaluate(() => Object.keys(localStorage)
    .filter((k) => k.startsWith('introeval-upload:')).length);
  check(left === 0, 'a finished upload stayed in localStorage');
}

async function main() {
  // Only the upload is checked: a long batch window keeps the server from
  // transcribing it, so nothing is left to finish when the test ends.
  const env = await startEnv(['--one-fake', '--set', 'INTROEVAL_BATCH_WINDOW_S=3600']);
  const { info } = env;
  const size = readFileSync(VIDEO).length;
  const net1 = await relay(Number(new URL(info.base_url).port));
  let browser;
  let page;
  try {
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await signIn(page, net1.url, info.users.student);
    await dropAndResume(page, cdp, net1, size);
    await reloadAndResume(page, cdp, net1.url, size);
    log('passed');
  } catch (e) {
    if (page) await shot(page, 'resume-99-failure').catch(() => {});
    throw withServerLog(e, info, 40);
  } finally {
    if (browser) await browser.close().catch(() => {});
    net1.close();
    await env.stop();
  }
}

runMain(main);
