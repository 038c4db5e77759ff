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

const jobs = { 'approve-device': approveDevice };

try {
  if (!jobs[job.job]) throw new Error(`unknown job ${job.job}`);
  const result = await withBrowser(jobs[job.job]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.message) })}\n`);
  process.exitCode = 1;
}
