// transcript_checks.mjs: the result page's transcript in step with the
// recording, and the evidence under the scores (issue 12), checked on a
// page that already shows a scored submission (test_upload.mjs calls it).
//
// - every word of #transcript is a control (role=button, one tab stop);
// - a real click on a word seeks #player: the 'seeked' event's
//   currentTime is within 0.3 s of the word's start, and the word is
//   highlighted (.current, aria-current) at that moment;
// - from the keyboard: ArrowRight moves to the next word, Enter seeks it;
// - an evidence link (.evidence-link) seeks to its quote's start;
// - without JavaScript the transcript reads as the transcript's text;
// - another student, signed in in their own browser context, gets 404 for
//   the recording, with and without a Range header;
// - screenshots at 1280 px and on a phone (390 px).

import { log, shot, waitUntil } from './lib.mjs';

const TOLERANCE_S = 0.3;

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Records every landing of the player, so a check reads the time the
// seek landed at rather than wherever playback got to afterwards.
async function watchSeeks(page) {
  await page.evaluate(() => {
    const p = document.getElementById('player');
    window.__seeks = [];
    p.muted = true;  // headless: nothing to hear, and autoplay is allowed
    p.addEventListener('seeked', () => {
      const cur = document.querySelector('#transcript .w.current');
      window.__seeks.push({ t: p.currentTime, current: cur ? Number(cur.dataset.s) : null });
    });
  });
}

async function lastSeek(page, count) {
  return waitUntil('the player to seek', () => page.evaluate(
    (n) => (window.__seeks.length > n ? window.__seeks[window.__seeks.length - 1] : null), count),
  15000);
}

async function seekBy(page, action, want, what) {
  const before = await page.evaluate(() => window.__seeks.length);
  await action();
  const got = await lastSeek(page, before);
  check(Math.abs(got.t - want) <= TOLERANCE_S,
    `${what}: the player landed at ${got.t.toFixed(2)} s, the start is ${want.toFixed(2)} s`);
  return got;
}

async function otherStudentGets404(browser, base, other, id) {
  const ctx = await browser.newContext();
  try {
    const p = await ctx.newPage();
    await p.goto(`${base}/login`);
    await p.fill('form#login input[name=email]', other.email);
    await p.fill('form#login input[name=password]', other.password);
    await Promise.all([p.waitForURL(`${base}/`), p.click('form#login [type=submit]')]);
    const statuses = await p.evaluate(async (sid) => {
      const url = `/api/v1/submissions/${sid}/media`;
      const whole = await fetch(url);
      const part = await fetch(url, { headers: { Range: 'bytes=0-99' } });
      return [whole.status, part.status];
    }, id);
    check(statuses[0] === 404 && statuses[1] === 404,
      `another student got ${statuses.join(' and ')} for the recording, not 404`);
    log('another student: 404 for the recording, with and without Range');
  } finally {
    await ctx.close();
  }
}

export async function checkTranscript(page, base, other) {
  const id = await page.evaluate(() => document.getElementById('submission').dataset.id);
  const sub = await page.evaluate(async (sid) => (await fetch(`/api/v1/submissions/${sid}`)).json(), id);
  const words = page.locator('#transcript .w');
  const n = await words.count();
  check(n === sub.transcript.words.length,
    `the page shows ${n} transcript words, the transcript has ${sub.transcript.words.length}`);
  check(n >= 3, `only ${n} words in the transcript`);
  check(await page.locator('#transcript .w[role=button]').count() === n,
    'not every transcript word is a button');
  check(await page.locator('#transcript .w[tabindex="0"]').count() === 1,
    'the transcript should be one tab stop (a roving tabindex)');
  await page.evaluate(() => document.getElementById('player').pause());
  await watchSeeks(page);

  // A real click on a word in the middle.
  const k = Math.floor(n / 2);
  const start = Number(await words.nth(k).getAttribute('data-s'));
  const got = await seekBy(page, () => words.nth(k).click(), start, `clicking word ${k}`);
  log(`transcript: word ${k} starts at ${start} s; the player landed at ${got.t.toFixed(2)} s`);
  await waitUntil('the clicked word to be highlighted', () => page.evaluate(
    (s) => { const c = document.querySelector('#transcript .w.current'); return c && Number(c.dataset.s) <= s + 0.01 && c.getAttribute('aria-current') === 'true'; },
    start), 10000);
  await page.evaluate(() => document.getElementById('player').pause());

  // The keyboard: the next word, then Enter.
  await words.nth(k).focus();
  await page.keyboard.press('ArrowRight');
  check(await page.evaluate(() => document.activeElement.classList.contains('w')
    && document.activeElement.tabIndex === 0), 'ArrowRight did not move to the next word');
  const nextStart = Number(await words.nth(k + 1).getAttribute('data-s'));
  await seekBy(page, () => page.keyboard.press('Enter'), nextStart, 'Enter on the next word');
  await page.evaluate(() => document.getElementById('player').pause());

  // Evidence: every verified quote is a link that plays it.
  const links = page.locator('.evidence-link');
  const nlinks = await links.count();
  const verified = Object.values(sub.evaluation.evidence || {}).filter((e) => e.verified).length;
  check(nlinks === verified, `${nlinks} evidence links for ${verified} verified quotes`);
  check(nlinks > 0, 'no evidence link on the result page');
  const qs = Number(await links.first().getAttribute('data-s'));
  await seekBy(page, () => links.first().click(), qs, 'the evidence link');
  log(`evidence: ${nlinks} quotes, the first at ${qs} s`);
  await page.evaluate(() => document.getElementById('player').pause());
  await shot(page, '05c-transcript-1280');

  // A phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, '05d-result-phone');
  await page.setViewportSize({ width: 1280, height: 800 });

  if (other) await otherStudentGets404(page.context().browser(), base, other, id);

  // Without JavaScript the words still read as the text.
  const ctx = await page.context().browser().newContext({
    javaScriptEnabled: false,
    storageState: await page.context().storageState(),
  });
  try {
    const plain = await ctx.newPage();
    await plain.goto(`${base}/submissions/${id}`);
    const text = (await plain.locator('#transcript').innerText()).replace(/\s+/g, ' ').trim();
    const want = sub.transcript.words.map((w) => w.w).join(' ');
    const onlyWords = (await plain.locator('#transcript .w').allInnerTexts()).join(' ');
    check(onlyWords === want, `without JavaScript the words read "${onlyWords}", not "${want}"`);
    check(text.includes(sub.transcript.words[0].w), `without JavaScript #transcript reads "${text}"`);
    check(await plain.locator('#transcript .w[role=button]').count() === 0,
      'without JavaScript the words should be plain text');
    await shot(plain, '05e-transcript-nojs');
  } finally {
    await ctx.close();
  }
}
