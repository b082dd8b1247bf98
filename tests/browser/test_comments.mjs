// test_comments.mjs: a teacher's time-coded comment reaches the student's
// open result page live, and the student answers it once (issue 12).
//
// A student uploads a short fixture through the page and keeps its result
// page open (window.__marker is set, so a reload would show). A teacher,
// in a second browser context, opens the same page, seeks the player to
// about 3.2 s, presses C (the form opens with the moment as m:ss and the
// player paused), writes a comment and saves. Then, without a reload:
// the teacher's own page shows the marker at once; the student's page
// shows a marker on the timeline, placed at the moment's share of the
// recording, and the comment in the list; clicking the marker seeks the
// student's player to the moment. The student starts a reply while the
// teacher comments again (with the button, at 0:05): the refresh keeps
// the half-written reply and its focus, and lists both in order. The
// reply goes out once, its form goes away and the teacher's page shows
// the reply. Screenshots at
// 1280x800 and 390x844 for both roles (comments-*.png); any page error
// or console error (a refused inline style, say) fails the test.
//
// Run: node tests/browser/test_comments.mjs (after npm ci in tests/browser).

import { launchBrowser, log, shortIntro, shot, startEnv, waitUntil, runMain, withServerLog } from './lib.mjs';

const TIMEOUT_MS = Number(process.env.INTROEVAL_E2E_TIMEOUT || 180) * 1000;
const VIDEO = shortIntro('intro02');
const AT = 3.2;
const COMMENT = 'Good pace here. Look at the camera while you say where you are from.';
const REPLY = 'Thanks, I will practise that part.';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

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

function watch(page, who, problems) {
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${who} console: ${m.text()}`);
  });
}

async function newPage(browser, opts, who, problems) {
  const page = await (await browser.newContext(opts)).newPage();
  watch(page, who, problems);
  return page;
}

// The player's metadata is loaded (so its duration is known).
async function playerReady(page) {
  return page.evaluate(async () => {
    const v = document.getElementById('player');
    if (v.readyState < 1) {
      await new Promise((resolve, reject) => {
        v.addEventListener('loadedmetadata', resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`media error ${v.error && v.error.code}`)), { once: true });
        v.load();
      });
    }
    return v.duration;
  });
}

async function teacherComments(page) {
  await playerReady(page);
  await page.evaluate(async (at) => {
    const v = document.getElementById('player');
    const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }));
    v.currentTime = at;
    await seeked;
  }, AT);
  check(await page.locator('#comment-fields').isHidden(),
    'the new-comment fields show before C is pressed');
  check(await page.locator('#comment-btn').isVisible(),
    'the teacher sees no "Add a comment at the current moment" button');
  await page.locator('body').click({ position: { x: 5, y: 5 } }); // focus out of the player
  await page.keyboard.press('c');
  await page.waitForSelector('#comment-fields', { state: 'visible', timeout: 5000 });
  const form = await page.evaluate(() => ({
    at: document.getElementById('comment-at').value,
    focused: document.activeElement && document.activeElement.id,
    body: document.getElementById('comment-body').value,
    paused: document.getElementById('player').paused,
  }));
  check(form.at === '0:03', `the form opened at "${form.at}", not 0:03`);
  check(form.focused === 'comment-body', `C left the focus on #${form.focused}`);
  check(form.body === '', `the C key was typed into the comment: "${form.body}"`);
  check(form.paused, 'the player still plays while the teacher writes');
  await page.fill('#comment-body', COMMENT);
  await shot(page, 'comments-01-teacher-writing');
  await page.click('#comment-save');
  // The teacher's own page shows it at once.
  await page.waitForSelector('#markers .marker', { timeout: 10000 });
  await page.waitForSelector('#comment-fields', { state: 'hidden', timeout: 5000 });
  const saved = await page.locator('#comment-bar .comment-saved').textContent();
  check(/Saved at 0:03/.test(saved), `the teacher was told "${saved}"`);
}

async function studentSeesIt(page) {
  await waitUntil('the comment on the student\'s open page', () => page.evaluate((text) => {
    const li = document.querySelector('#comments li.comment');
    return document.querySelector('#markers .marker') && li && li.textContent.includes(text);
  }, COMMENT), 20000);
  const seen = await page.evaluate(() => {
    const m = document.querySelector('#markers .marker');
    const track = document.querySelector('#markers .timeline-track').getBoundingClientRect();
    const box = m.getBoundingClientRect();
    return {
      marker: window.__marker,
      at: Number(m.dataset.s),
      share: (box.left + box.width / 2 - track.left) / track.width,
      title: m.getAttribute('title'),
      duration: document.getElementById('player').duration,
      time: document.querySelector('#comments .comment-seek').textContent.trim(),
    };
  });
  check(seen.marker === 1, 'the student\'s page reloaded instead of updating in place');
  check(Math.abs(seen.at - AT) < 0.3, `the comment is at ${seen.at} s, not about ${AT} s`);
  check(seen.time === '0:03', `the comment's time reads "${seen.time}"`);
  check(/^0:03 — Test Teacher: Good pace here/.test(seen.title), `the marker's title is "${seen.title}"`);
  const want = seen.at / seen.duration;
  check(Math.abs(seen.share - want) < 0.03,
    `the marker sits at ${(seen.share * 100).toFixed(1)}% of the timeline, not ${(want * 100).toFixed(1)}%`);
  log(`student sees the marker at ${(seen.share * 100).toFixed(1)}% (${seen.at} s)`);
  return seen.at;
}

async function studentSeeks(page, at) {
  await page.evaluate(() => {
    const v = document.getElementById('player');
    v.pause();
    window.__seekedAt = null;
    // "seeking" reports where the seek goes, before playback moves on.
    v.addEventListener('seeking', () => { window.__seekedAt = v.currentTime; }, { once: true });
  });
  await page.click('#markers .marker');
  const landed = await waitUntil('the player to seek', () => page.evaluate(() => window.__seekedAt), 10000);
  check(Math.abs(landed - at) < 0.5, `the marker seeked to ${landed} s, not ${at} s`);
  log(`clicking the marker seeked to ${landed.toFixed(2)} s`);
}

// The student starts a reply; meanwhile the teacher comments again, with
// the button this time. The student's page refreshes under the half-written
// reply, which must survive (text and focus), then goes out once.
async function replyWhileTeacherComments(student, teacher) {
  const first = await student.locator('#comments li.comment').first().getAttribute('data-id');
  const box = student.locator(`#reply-body-${first}`);
  check(await box.count() === 1, 'the student has no reply form under the comment');
  await box.click();
  await box.fill(REPLY);

  await teacher.evaluate(async () => {
    const v = document.getElementById('player');
    const seeked = new Promise((resolve) => v.addEventListener('seeked', resolve, { once: true }));
    v.currentTime = 5.1;
    await seeked;
  });
  await teacher.click('#comment-btn');
  await teacher.waitForSelector('#comment-fields', { state: 'visible', timeout: 5000 });
  const at = await teacher.inputValue('#comment-at');
  check(at === '0:05', `the button opened the form at "${at}", not 0:05`);
  await teacher.fill('#comment-body', 'Clear ending.');
  await teacher.click('#comment-save');
  await teacher.waitForSelector('#comment-fields', { state: 'hidden', timeout: 5000 });

  await waitUntil('the second comment on the student\'s page', async () =>
    await student.locator('#comments li.comment').count() === 2, 20000);
  const after = await student.evaluate((id) => ({
    text: document.getElementById(`reply-body-${id}`).value,
    focused: document.activeElement && document.activeElement.id,
    times: [...document.querySelectorAll('#comments .comment-seek')].map((b) => b.textContent.trim()),
    markers: document.querySelectorAll('#markers .marker').length,
    marker: window.__marker,
  }), first);
  check(after.marker === 1, 'the student\'s page reloaded for the second comment');
  check(after.text === REPLY, `the half-written reply became "${after.text}" after the refresh`);
  check(after.focused === `reply-body-${first}`, `the focus moved to #${after.focused} after the refresh`);
  check(after.times.join(' ') === '0:03 0:05', `the comments are listed as ${after.times.join(', ')}`);
  check(after.markers === 2, `the timeline shows ${after.markers} markers`);

  await student.locator(`#comment-${first} .reply-form button[type=submit]`).click();
  await waitUntil('the reply form to go', async () =>
    await student.locator(`#comment-${first} .reply-form`).count() === 0, 10000);
  const reply = await student.locator(`#comment-${first} .reply`).textContent();
  check(reply.includes(REPLY), `the reply reads "${reply}"`);
  check(await student.locator('#comments .reply-form').count() === 1,
    'the second comment lost its own reply form');
}

async function main() {
  const started = Date.now();
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  log(`server at ${base}`);
  const problems = [];
  let browser;
  let student;
  try {
    browser = await launchBrowser();
    student = await newPage(browser, { viewport: DESKTOP }, 'student', problems);
    await signIn(student, base, info.users.student);
    await student.setInputFiles('input#video', VIDEO);
    await Promise.all([
      student.waitForURL(/\/submissions\/\d+$/, { timeout: 60000 }),
      student.click('button#upload-btn'),
    ]);
    const url = student.url();
    log(`result page ${url}`);
    // Comments need only the recording, but the page is shown finished.
    await student.waitForSelector('#overall-score', { timeout: TIMEOUT_MS });
    await playerReady(student);
    check(await student.locator('#comment-form').count() === 0, 'a student is offered the comment form');
    check(await student.locator('#markers.timeline').count() === 1, 'the page has no #markers timeline');
    await student.evaluate(() => { window.__marker = 1; });

    const teacher = await newPage(browser, { viewport: DESKTOP }, 'teacher', problems);
    await signIn(teacher, base, info.users.teacher);
    await teacher.goto(url);
    const empty = await teacher.locator('#comments-empty').textContent();
    check(/press C/.test(empty), `the teacher's empty list says "${empty}"`);
    await teacherComments(teacher);

    const at = await studentSeesIt(student);
    await studentSeeks(student, at);
    await shot(student, 'comments-02-student-desktop');
    await replyWhileTeacherComments(student, teacher);
    await shot(student, 'comments-03-student-replied');
    await waitUntil('the reply on the teacher\'s page', () => teacher.evaluate(
      (text) => (document.querySelector('#comments .reply')?.textContent || '').includes(text), REPLY), 20000);
    await shot(teacher, 'comments-04-teacher-desktop');

    const phones = [['student', info.users.student], ['teacher', info.users.teacher]];
    for (const [who, user] of phones) {
      const phone = await newPage(browser, PHONE, `${who} (phone)`, problems);
      await signIn(phone, base, user);
      await phone.goto(url);
      await playerReady(phone);
      await phone.waitForSelector('#markers .marker');
      const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= 390, `the ${who}'s phone page is ${wide} px wide`);
      await shot(phone, `comments-05-${who}-phone`);
    }
    check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
    log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    if (student) await shot(student, 'comments-99-failure').catch(() => {});
    throw withServerLog(e, info);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await env.stop();
  }
}

runMain(main);
