// Drives the ops dashboard in headless Chromium (Playwright): log in, see an enrolled
// terminal online, see a paper-out alert appear without a reload, then watch the
// terminal go offline once its heartbeats stop. Heartbeats are sent over mutual TLS
// with the terminal's own certificate, exactly as a kiosk sends them.
// Then the versions view: two more terminals (FLEET_DIRS), one a version behind and one
// configured unlike its peers, are listed as such.
// Then a staged update (ROLLOUT_VERSION, published and rolled out to every arm64
// terminal by the suite with the `central` CLI): the terminal is offered it, reports
// that it installed it, failed its self-test and rolled back; the versions view shows
// the rollout with the rolled-back terminal and its reason.
// Then the back office: the terminal submits a qualification check that is left for
// review; a reviewer logs in, sees the face (and no terminal id), approves it, and the
// terminal's progress lookup shows it approved.
// Env: BASE (https://localhost:PORT), CERT_DIR (ca.pem, cert.pem, key.pem), FLEET_DIRS
// (two more such directories, colon-separated), OPS_USER, OPS_PASSWORD, REVIEW_USER,
// REVIEW_PASSWORD, FACE_JPEG (a face photo); SCREENSHOT_DIR (optional) keeps fleet.png,
// terminal.png, versions.png, update-rolled-back.png and review.png.
import { chromium } from "playwright-core";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import https from "node:https";
import { randomUUID } from "node:crypto";

const base = process.env.BASE;
const dir = process.env.CERT_DIR;
const tls = { ca: readFileSync(join(dir, "ca.pem")), cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
const deviceId = readFileSync(join(dir, "device_id"), "utf8").trim();

const USUAL_CONFIG = "a1".repeat(32);

function heartbeat(printer, as = tls, version = "0.2.0", config = USUAL_CONFIG) {
  const body = JSON.stringify({
    heartbeat: {
      sent_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      software_version: version, uptime_s: 60,
      devices: { reader: "ok", printer, camera: "ok" },
      outbox: { depth: 0, oldest_age_s: 0 },
      sessions: 1, failures: 0, disk_free_bytes: 4000000000, clock_offset_ms: 5,
      config_hash: config,
    },
  });
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}/v1/telemetry`, {
      method: "POST", ...as,
      headers: { "content-type": "application/json", "idempotency-key": randomUUID(), "content-length": Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on("end", () => res.statusCode === 200 ? resolve() : reject(new Error(`telemetry ${res.statusCode}`))); });
    req.on("error", reject);
    req.end(body);
  });
}

// A call over mutual TLS as the terminal; resolves to [status, parsed JSON body].
function call(method, path, payload) {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}${path}`, {
      method, ...tls,
      headers: { "content-type": "application/json", "idempotency-key": randomUUID(), "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.on("data", (c) => { text += c; });
      res.on("end", () => { try { resolve([res.statusCode, JSON.parse(text)]); } catch (e) { reject(new Error(`${path}: ${res.statusCode} ${text}`)); } });
    });
    req.on("error", reject);
    req.end(body);
  });
}

// The status of a GET as the terminal (for answers without a body, such as 204).
function statusOf(path) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}${path}`, { method: "GET", ...tls }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end();
  });
}

// Telemetry events from the terminal (as its outbox sends them).
function events(list) {
  const at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return call("POST", "/v1/telemetry", {
    events: list.map(([kind, detail]) => ({ id: randomUUID(), at, kind, severity: "warning", detail })),
  });
}

function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

let beating;
// A fresh profile every run; Playwright wants it as the persistent context's directory.
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "central-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  ignoreHTTPSErrors: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto(`${base}/ops`);
  check(page.url().endsWith("/ops/login"), "the dashboard redirects to the login page");
  await page.fill("input[name=username]", process.env.OPS_USER);
  await page.fill("input[name=password]", "not the password");
  await page.click("button[type=submit]");
  check(await page.getByRole("alert").isVisible(), "a wrong password is refused");
  await page.fill("input[name=username]", process.env.OPS_USER);
  await page.fill("input[name=password]", process.env.OPS_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/ops`);
  check(true, "logged in");

  // Like a kiosk: heartbeats keep coming every second until we stop them.
  let printer = "ok";
  await heartbeat(printer);
  beating = setInterval(() => heartbeat(printer).catch((e) => console.error(e.message)), 1000);
  const status = page.locator(`tr[data-device="${deviceId}"] [data-status]`);
  await status.filter({ hasText: "serving" }).waitFor({ timeout: 20000 });
  check(true, "the terminal shows serving after a heartbeat (page refreshed in place)");

  printer = "paper_out";
  await heartbeat(printer);
  await page.locator(`tr[data-device="${deviceId}"] td.open`, { hasText: "paper_out" }).waitFor({ timeout: 20000 });
  check(true, "a paper-out alert appears in the fleet table without a reload");
  await status.filter({ hasText: "degraded" }).waitFor({ timeout: 20000 });
  check(true, "and the terminal shows degraded");
  await page.goto(`${base}/ops/alerts`);
  await page.locator(`tr[data-kind="paper_out"][data-open="true"][data-device="${deviceId}"]`).waitFor({ timeout: 20000 });
  check(true, "the alert list shows the open paper-out alert");

  clearInterval(beating);
  await page.goto(`${base}/ops`);
  // No more heartbeats: after the configured missed intervals the terminal is offline.
  await status.filter({ hasText: "offline" }).waitFor({ timeout: 30000 });
  check(true, "the terminal goes offline when heartbeats stop");
  await page.goto(`${base}/ops/alerts`);
  // The sweeper opens the alert within one sweep interval; the list refreshes in place.
  await page.locator(`tr[data-kind="terminal_offline"][data-open="true"][data-device="${deviceId}"]`).waitFor({ timeout: 20000 });
  check(true, "an offline alert is listed");

  await page.goto(`${base}/ops/terminals/${deviceId}`);
  check(await page.locator("svg.chart").count() === 2, "the terminal page shows the 24-hour charts");
  const html = await page.content();
  check(!/\d{17}[\dX]/.test(html), "no full ID number anywhere on the terminal page");
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "terminal.png"), fullPage: true });
    await page.goto(`${base}/ops`);
    await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "fleet.png"), fullPage: true });
  }

  // The versions view: this terminal and one more on 0.2.0 configured apart, one on 0.1.9.
  const [oldDir, oddDir] = process.env.FLEET_DIRS.split(":");
  const as = (d) => ({ ca: tls.ca, cert: readFileSync(join(d, "cert.pem")), key: readFileSync(join(d, "key.pem")) });
  const idOf = (d) => readFileSync(join(d, "device_id"), "utf8").trim();
  await heartbeat("ok");
  await heartbeat("ok", as(oldDir), "0.1.9");
  await heartbeat("ok", as(oddDir), "0.2.0", "b2".repeat(32));
  await page.goto(`${base}/ops/versions`);
  check(await page.locator('tr[data-version="0.2.0"] td').nth(1).innerText() === "2", "two terminals run 0.2.0");
  check(await page.locator(`tr[data-lagging="${idOf(oldDir)}"]`).count() === 1, "the one on 0.1.9 is listed as behind");
  check(await page.locator(`tr[data-lagging="${deviceId}"]`).count() === 0, "the newest are not");
  check(await page.locator(`tr[data-drifting="${idOf(oddDir)}"]`).count() === 1, "the one configured apart is listed");
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "versions.png"), fullPage: true });
  }
  check(await page.locator("footer[data-instance]").count() === 1, "the page names the instance that served it");

  // A staged update that the terminal rolls back.
  const version = process.env.ROLLOUT_VERSION;
  const [offered, offer] = await call("GET", "/v1/updates/offer?architecture=arm64");
  check(offered === 200 && offer.release.manifest.version === version, `the terminal is offered ${version}`);
  const reason = "self-test failed: printer did not answer within 10 s";
  const [reported] = await events([
    ["update.started", version],
    ["update.rolled_back", `${version}: ${reason}`],
  ]);
  check(reported === 200, "the terminal reports that it rolled the update back");
  await page.goto(`${base}/ops/versions`);
  const rollout = page.locator(`tr[data-rollout="${offer.rollout_id}"]`);
  check(await rollout.getAttribute("data-state") === "active", "the rollout is listed as active");
  check((await rollout.locator("td").nth(8).innerText()) === "1", "one terminal rolled it back");
  const rolledBack = page.locator(`tr[data-update-problem="${deviceId}"]`);
  check((await rolledBack.innerText()).includes(reason), "the rolled-back terminal is listed with its reason");
  const again = await statusOf("/v1/updates/offer?architecture=arm64");
  check(again === 204, "a terminal that rolled a version back is not offered it again");
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "update-rolled-back.png"), fullPage: true });
  }

  // The back office: a check left for review (the registry's 1880-born pensioner).
  const [submitted, answer] = await call("POST", "/v1/qualification-checks", {
    id_number: "440524188001010014", name: "李福寿",
    face_jpeg: readFileSync(process.env.FACE_JPEG).toString("base64"),
    liveness: { method: "blink", score: 0.93, passed: true, frames: 40 },
    captured_at: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  });
  check(submitted === 201 && answer.outcome === "pending_review", "a qualification check is left for review");
  const tracking = answer.tracking_number;
  await page.goto(`${base}/ops/review`);
  check(await page.locator("h1", { hasText: "Forbidden" }).count() === 1, "an operations user is not a reviewer");
  await page.goto(`${base}/ops`);
  await page.click("text=Log out");
  await page.waitForURL(`${base}/ops/login`);
  await page.fill("input[name=username]", process.env.REVIEW_USER);
  await page.fill("input[name=password]", process.env.REVIEW_PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/ops`);
  await page.goto(`${base}/ops/review`);
  await page.locator(`#review-item[data-tracking="${tracking}"]`).waitFor({ timeout: 20000 });
  check(true, "the reviewer is handed the item");
  const face = page.locator("img#face");
  await face.waitFor();
  check(await face.evaluate((img) => img.complete && img.naturalWidth > 0), "the face capture is shown");
  const reviewHtml = await page.content();
  check(!reviewHtml.includes(deviceId), "the review page never names the terminal");
  check(!/\d{17}[\dX]/.test(reviewHtml), "no full ID number on the review page");
  if (process.env.SCREENSHOT_DIR) {
    await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "review.png"), fullPage: true });
  }
  await page.selectOption("select[name=reason]", "identity_confirmed");
  await page.click("text=Record the decision");
  await page.locator("#review-empty").waitFor({ timeout: 20000 });
  check(true, "the decision is recorded and the queue is empty");
  const [looked, progress] = await call("GET", `/v1/applications/${tracking}`);
  check(looked === 200 && progress.status === "approved", "the terminal's progress lookup shows it approved");
} finally {
  clearInterval(beating);
  await context.close();
}
