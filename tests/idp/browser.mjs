// Drives Debian's chromium (never a downloaded browser) with playwright-core
// for the single sign-on tests.  One job per run, given as JSON on argv[2]:
//
//   {"job": "approve-device", "url": verification_uri_complete,
//    "login": ..., "password": ..., "caFile": ...}
//       opens the device page, confirms the code, logs in at the OP's form;
//       prints {"ok": true, "title": ...} when the OP says the login is done.
//
// Prints one JSON line on stdout; exit status 0 when the job succeeded.
// The OP's certificate is self-signed for 127.0.0.1: certificate errors are
// ignored for this throw-away browser profile only.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const job = JSON.parse(process.argv[2]);
const TIMEOUT = job.timeoutMs || 20000;

async function withBrowser(fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'llmgw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.LLM_GW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    return await fn(page);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function login(page, login, password) {
  await page.waitForSelector('#login');
  await page.fill('#login', login);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
}

async function approveDevice(page) {
  await page.goto(job.url);
  // verification_uri_complete carries the code: the confirmation page.
  await page.waitForSelector('#user-code');
  const shown = await page.textContent('#user-code');
  await Promise.all([page.waitForNavigation(), page.click('#continue')]);
  await login(page, job.login, job.password);
  await page.waitForSelector('#done');
  return { ok: true, user_code: shown.trim(), title: await page.title() };
}

// {"job": "self-service", "url": page URL, "login", "password",
//  "logout": true|false}: logs in at the OP's form from the gateway's page,
// reads the page, the session cookie's flags; with logout, follows the
// page's logout link (confirming at the OP) and reports whether the page
// asks for a login again.
async function selfService(page) {
  await page.goto(job.url);
  await login(page, job.login, job.password);
  await page.waitForSelector('#you, #error');
  const text = async (sel) => ((await page.$(sel)) ? (await page.textContent(sel)).trim() : null);
  const all = async (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
  const result = {
    ok: true,
    final_url: page.url(),
    error: await text('#error'),
    user: await text('#user'),
    groups: await all('#groups li'),
    models: await all('#model-list li'),
    quick_token: await text('#quick-token'),
    quota: await page.$$eval('#quota-table tr', (rows) => rows.slice(1).map(
      (tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()))),
    setup: {},
    copy_buttons_shown: await page.$$eval('button.copy', (bs) => bs.filter((b) => !b.hidden).length),
    html: await page.content(),
  };
  for (const id of ['setup-claude', 'setup-codex', 'setup-openai', 'setup-anthropic']) {
    result.setup[id] = await text(`#${id}`);
  }
  result.cookies = (await page.context().cookies()).map((c) => ({
    name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite, domain: c.domain,
  }));
  if (job.admin_url) {
    const resp = await page.goto(job.admin_url);
    result.admin_status = resp.status();
    result.admin_html = await page.content();
    await page.goto(job.url);
  }
  if (job.logout) {
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    // The OP asks to confirm the sign-out (RP-initiated logout).
    const confirm = await page.waitForSelector('button[name=logout], #you, #login');
    if ((await confirm.getAttribute('name')) === 'logout') {
      await Promise.all([page.waitForNavigation(), confirm.click()]);
    }
    await page.goto(job.url);
    result.after_logout_login_form = !!(await page.waitForSelector('#login, #you')
      .then((el) => el.getAttribute('id')).then((id) => id === 'login'));
  }
  return result;
}

const jobs = { 'approve-device': approveDevice, 'self-service': selfService };

try {
  if (!jobs[job.job]) throw new Error(`unknown job ${job.job}`);
  const result = await withBrowser(jobs[job.job]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.message) })}\n`);
  process.exitCode = 1;
}
