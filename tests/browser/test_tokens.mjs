// test_tokens.mjs: API tokens on the account page (issue 16).
//
// A teacher opens /account, makes an "act" token through the form and
// sees its secret once, with a Copy button that puts it on the
// clipboard; the secret signs a script in (GET /api/v1/me with it as a
// bearer token). Back on the page the token is listed (name, scope, when
// last used) and its secret is nowhere; Revoke ends it: the same request
// is 401. A student's account page has no token section. Pages are
// photographed at 1280 and 390 px wide (tok-*.png) and must not scroll
// sideways.
//
// Run: node tests/browser/test_tokens.mjs (after npm ci in tests/browser).

import {
  DESKTOP, bothSizes, check, launchBrowser, log, signIn, startEnv, runMain,
} from './lib.mjs';

async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ timeout: 15000 }), page.click(selector)]);
}

async function me(base, token) {
  const r = await fetch(`${base}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  return r.status;
}

async function main() {
  const env = await startEnv(['--one-fake']);
  const { info } = env;
  const base = info.base_url;
  const browser = await launchBrowser();
  try {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const teacher = await ctx.newPage();
    await signIn(teacher, base, info.users.teacher.email, info.users.teacher.password);
    await teacher.goto(`${base}/account`);
    check(await teacher.locator('#no-tokens').count() === 1, 'a new teacher already lists tokens');
    await bothSizes(teacher, 'tok-01-account');

    await teacher.fill('#token-name', 'nightly grade export');
    await teacher.selectOption('#token-scope', 'act');
    await teacher.fill('#token-days', '30');
    await submit(teacher, '#token-create');
    const secret = (await teacher.locator('#new-token').textContent()).trim();
    check(/^ie_[0-9a-f]{48}$/.test(secret), `the new token reads ${secret}`);
    await teacher.click('#copy-token');
    await teacher.waitForSelector('#copy-done', { state: 'visible', timeout: 5000 });
    const copied = await teacher.evaluate(() => navigator.clipboard.readText());
    check(copied === secret, `the clipboard holds ${copied}`);
    await bothSizes(teacher, 'tok-02-created');
    check(await me(base, secret) === 200, 'the new token does not sign in');

    await teacher.goto(`${base}/account`);
    const row = teacher.locator('#token-list tr[data-token]');
    check(await row.count() === 1, 'the token is not listed');
    const text = await row.textContent();
    check(text.includes('nightly grade export') && text.includes('act'), `the row reads ${text}`);
    check(await row.locator('td[data-label="Last used"] time').count() === 1, 'its use is not shown');
    check(!(await teacher.content()).includes(secret), 'the secret is shown again');
    await bothSizes(teacher, 'tok-03-listed');

    await submit(teacher, '#token-list tr[data-token] button[type=submit]');
    check((await teacher.locator('#account-message').textContent()).includes('revoked'), 'no word that it is revoked');
    check(await teacher.locator('#no-tokens').count() === 1, 'the revoked token is still listed');
    check(await me(base, secret) === 401, 'a revoked token still signs in');
    await bothSizes(teacher, 'tok-04-revoked');

    const student = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    await signIn(student, base, info.users.student.email, info.users.student.password);
    await student.goto(`${base}/account`);
    check(await student.locator('#tokens').count() === 0, 'a student is offered API tokens');
    log('tokens: all checks passed');
  } finally {
    await browser.close();
    await env.stop();
  }
}

runMain(main);
