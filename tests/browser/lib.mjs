// lib.mjs: shared pieces of IntroEval's browser tests.
//
// startEnv() runs "python3 tests/integration/harness.py --serve-env", which
// starts a throw-away PostgreSQL cluster, fake Ollama servers and the real
// server, creates a student, a teacher and an admin, and prints one JSON
// line describing them; it stops everything when its stdin closes, so the
// environment goes away even when this process dies. launchBrowser() starts
// Debian's Chromium (never a downloaded one) headless, with the flags this
// closed network needs. Screenshots go to tests/browser/screenshots/.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..');
export const SHARED = process.env.INTROEVAL_SHARED_DIR ||
  path.resolve(REPO, '..', 'shared');
export const SCREENSHOTS = path.join(here, 'screenshots');
export const CHROMIUM = process.env.INTROEVAL_CHROMIUM || '/usr/bin/chromium';

export function log(msg) {
  process.stderr.write(`browser: ${msg}\n`);
}

// startEnv(args): resolves to { info, stop() } once the harness printed its
// JSON line; rejects with the harness's stderr when it exits first.
export function startEnv(args = [], timeoutMs = 120000) {
  const child = spawn('python3',
    [path.join(REPO, 'tests', 'integration', 'harness.py'), '--serve-env',
      ...args],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 200000) stderr = stderr.slice(-100000);
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // The harness exits with 86 when the server's log held a sanitizer
  // report (a build with INTROEVAL_SANITIZE=ON): the test fails.
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 20000);
      await exited;
      clearTimeout(timer);
    }
    if (child.exitCode === 86) {
      throw new Error(`sanitizer report in the server's log:\n${stderr.slice(-20000)}`);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`harness not ready in ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve({ info: JSON.parse(line), stop, stderr: () => stderr });
      } catch (e) {
        reject(new Error(`harness printed ${line}: ${e.message}`));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`harness exited with ${code}:\n${stderr}`));
    });
  });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-quic', '--no-first-run',
      '--disable-component-update', '--disable-sync'],
  });
}

// shot(page, name): a full-page screenshot in screenshots/NAME.png.
export async function shot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${path.relative(REPO, file)}`);
  return file;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// bothSizes(page, name): shots NAME-desktop.png and NAME-phone.png;
// neither may scroll sideways. The page is left at `after` (DESKTOP).
export async function bothSizes(page, name, after = DESKTOP) {
  for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(viewport);
    await shot(page, `${name}-${size}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= viewport.width + 2, `${page.url()} is ${wide} px wide at ${viewport.width} px`);
  }
  await page.setViewportSize(after);
}

// signIn(page, base, email, password): through the sign-in form, home.
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/login`);
  await page.fill('form#login input[name=email]', email);
  await page.fill('form#login input[name=password]', password);
  await Promise.all([page.waitForURL(`${base}/`, { timeout: 15000 }), page.click('form#login [type=submit]')]);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// waitUntil(what, fn, timeoutMs): polls fn() until it returns a truthy
// value (returned); the timeout is only when to give up.
export async function waitUntil(what, fn, timeoutMs = 30000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

// shortIntro(name): the first 6.5 s of a fixture video (still speech, still
// over the 5 s minimum) as an mp4 of its own, made once per process: for
// tests about the pages rather than the words, which then spend far less
// time waiting for PocketSphinx.
let clipDir = null;
export function shortIntro(name, seconds = 6.5) {
  if (!clipDir) {
    clipDir = mkdtempSync(path.join(os.tmpdir(), 'introeval-clips-'));
    process.on('exit', () => rmSync(clipDir, { recursive: true, force: true }));
  }
  const out = path.join(clipDir, `${name}-${seconds}s.mp4`);
  if (!existsSync(out)) {
    const r = spawnSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y',
      '-i', path.join(SHARED, 'fixtures', 'intros', `${name}.mp4`),
      '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast',
      '-pix_fmt', 'yuv420p', '-c:a', 'aac', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg could not cut ${name}: ${r.stderr}`);
  }
  return out;
}

// withServerLog(e, info): e with the server log's last lines appended
// (info is startEnv's JSON line), for a failure's report.
export function withServerLog(e, info, lines = 60) {
  let tail = '';
  try {
    tail = readFileSync(info.server_log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch { /* gone already */ }
  return new Error(`${e.message}\n--- server log (last lines) ---\n${tail}`, { cause: e });
}

// runMain(main): runs a test's main() and reports it as every browser
// test does: "1 passed, 0 failed", or the failure and exit code 1.
export function runMain(main) {
  main().then(() => {
    console.log('1 passed, 0 failed');
  }, (e) => {
    console.error(`browser test failed: ${e.stack || e.message}`);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  });
}
