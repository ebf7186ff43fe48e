// The set-password page (P3) as a person uses it: open the email, follow its
// link, type a password, submit, see the outcome. Runs against the local
// stack that scripts/e2e.sh starts; screenshots go to test-output/screenshots.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";
import { createUser } from "../local-stack.mjs";

const API = process.env.API_URL ?? "http://127.0.0.1:9000";
const ROOT = new URL("../../", import.meta.url).pathname;
const SHOTS = `${ROOT}test-output/screenshots`;
mkdirSync(SHOTS, { recursive: true });

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // As root in a closed network: no sandbox, no background connections.
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

function pwctl(...args) {
  return execFileSync("cargo", ["run", "-q", "--bin", "pwctl", "--", ...args], { cwd: ROOT, encoding: "utf8" }).trim();
}

/** A new user who has asked for a link (P1); the link from their email. */
async function userWithLink(name) {
  const email = `${name}.${randomBytes(4).toString("hex")}@example.com`;
  const userId = createUser(pwctl, email);
  const token = pwctl("token", userId);
  const response = await fetch(`${API}/user/password`, { method: "PUT", headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 202);
  const mails = JSON.parse(pwctl("mail", "list", "--to", email));
  const html = mails.at(-1).body;
  // The email's button; an href is HTML-escaped (`&amp;`), this one has no `&`.
  const link = html.match(/<a href="(https?:\/\/[^"]*token=[A-Za-z0-9_-]+)"/)[1];
  return { userId, email, link, html };
}

async function openPage(url, locale = "en-US") {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  const confirms = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/user/password/confirm")) confirms.push(request);
  });
  const response = await page.goto(url);
  return { page, context, response, confirms };
}

async function submit(page, password) {
  await page.getByLabel(/New password|Neues Passwort/).fill(password);
  await page.locator("#submit").click();
}

async function statusText(page, pattern) {
  const status = page.getByRole("status");
  await status.filter({ hasText: pattern }).waitFor({ timeout: 20000 });
  return status.textContent();
}

test("the link from the email sets the password", async () => {
  const { userId, link } = await userWithLink("browser-ok");
  const { page, context, response } = await openPage(link);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()["referrer-policy"], "no-referrer");
  await page.screenshot({ path: `${SHOTS}/1-page.png` });
  await submit(page, "violet kettle sunrise 42");
  await statusText(page, /Your password is set/);
  await page.screenshot({ path: `${SHOTS}/2-success.png` });
  assert.equal(JSON.parse(pwctl("user", "show", userId)).hasPassword, true);
  await context.close();
});

test("the email as sent shows a button that opens the page", async () => {
  const { html, link } = await userWithLink("browser-email");
  const context = await browser.newContext({ viewport: { width: 720, height: 640 } });
  const page = await context.newPage();
  // As a mail client shows it: the HTML part, no network for it (it has no
  // external assets), then the button followed like any link.
  await page.setContent(html);
  const button = page.getByRole("link", { name: "Set your password" });
  assert.equal(await button.getAttribute("href"), link);
  await page.screenshot({ path: `${SHOTS}/0-email.png`, fullPage: true });
  await Promise.all([page.waitForURL(link), button.click()]);
  assert.equal(await page.locator("h1").textContent(), "Set your password");
  await context.close();
});

test("a used link shows the expired message", async () => {
  const { link } = await userWithLink("browser-used");
  const first = await openPage(link);
  await submit(first.page, "violet kettle sunrise 42");
  await statusText(first.page, /Your password is set/);
  await first.context.close();

  const { page, context } = await openPage(link);
  await submit(page, "another fine password 7");
  await statusText(page, /expired or was already used/);
  await page.screenshot({ path: `${SHOTS}/3-expired.png` });
  await context.close();
});

test("a too-short password is refused without a request", async () => {
  const { link } = await userWithLink("browser-short");
  const { page, context, confirms } = await openPage(link);
  await submit(page, "short");
  await statusText(page, /at least 8 characters/);
  assert.equal(confirms.length, 0);
  assert.equal(await page.getByLabel("New password").getAttribute("aria-invalid"), "true");
  await page.screenshot({ path: `${SHOTS}/4-too-short.png` });
  await context.close();
});

test("a common password shows the server's reason", async () => {
  const { link } = await userWithLink("browser-common");
  const { page, context, confirms } = await openPage(link);
  await submit(page, "password123");
  await statusText(page, /too common/);
  assert.equal(confirms.length, 1);
  await page.screenshot({ path: `${SHOTS}/5-too-common.png` });
  await context.close();
});

test("the button is disabled while submitting and the password can be shown", async () => {
  const { link } = await userWithLink("browser-busy");
  const { page, context } = await openPage(link);
  const input = page.getByLabel("New password");
  await input.fill("violet kettle sunrise 42");
  await page.getByRole("button", { name: "Show" }).click();
  assert.equal(await input.getAttribute("type"), "text");
  assert.equal(await page.locator("#toggle").getAttribute("aria-pressed"), "true");
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route("**/user/password/confirm", async (route) => {
    await held;
    await route.continue();
  });
  await page.locator("#submit").click();
  await page.locator("#submit:disabled").waitFor();
  release();
  await statusText(page, /Your password is set/);
  await context.close();
});

test("an absent token shows a clear message", async () => {
  const { page, context, response } = await openPage(`${API}/user/password/set`);
  assert.equal(response.status(), 400);
  await statusText(page, /This link is incomplete/);
  await page.screenshot({ path: `${SHOTS}/6-no-token.png` });
  await context.close();
});

test("German browsers get the page in German", async () => {
  const { link } = await userWithLink("browser-de");
  const { page, context } = await openPage(link, "de-DE");
  assert.equal(await page.locator("h1").textContent(), "Passwort festlegen");
  await submit(page, "kurz");
  await statusText(page, /mindestens 8 Zeichen/);
  await page.screenshot({ path: `${SHOTS}/7-german.png` });
  await context.close();
});
