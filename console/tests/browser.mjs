// The console's browser suite: Debian's Chromium driven by playwright-core against the release
// server on a fresh SQLite database, as a user would use it. Run by `cargo xtask browser`
// (PI_SERVER_BIN = the built binary; CHROMIUM = the browser, default /usr/bin/chromium).
// Screenshots of each step land in console/screenshots/; figures are printed at the end.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, '..', 'screenshots');
const serverBin = process.env.PI_SERVER_BIN;
const browserBin = process.env.CHROMIUM || '/usr/bin/chromium';
if (!serverBin) throw new Error('PI_SERVER_BIN must name the pi-server binary');
mkdirSync(shots, { recursive: true });

const freePort = () => new Promise((resolve, reject) => {
  const srv = createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

const dir = mkdtempSync(join(tmpdir(), 'pi-browser-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  BIND_ADDR: `127.0.0.1:${port}`,
  DATABASE_URL: `sqlite://${join(dir, 'pi.db')}?mode=rwc`,
  PERSONA_SEED_PASSWORD: 'demo-password-123',
  RUST_LOG: 'warn',
};
delete env.METRICS_TOKEN;

// The persona catalogue and its demo users, so a persona's shared block has several holders.
execFileSync(serverBin, ['seed'], { env, cwd: dir, stdio: 'ignore' });
const server = spawn(serverBin, [], { env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
server.stderr.on('data', (d) => { serverLog += d; });
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health/ready`)).ok) break;
  } catch { /* not up yet */ }
  if (i > 100) throw new Error(`the server did not start:\n${serverLog}`);
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({ executablePath: browserBin, args: ['--no-sandbox'] });
const problems = [];
const figures = {};
const steps = [];
let failed = false;

/** HTTP errors a step provokes on purpose: each status, how many responses (and the browser's
 * matching "Failed to load resource" console lines) are expected. */
const provoked = new Map();
function expectedError(status) {
  const left = provoked.get(status) ?? 0;
  if (left > 0) provoked.set(status, left - 1);
  return left > 0;
}

/** Records console errors, page errors, failed requests and unexpected HTTP errors. */
function watch(page, name) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const status = /status of (\d{3})/.exec(m.text())?.[1];
    if (status && expectedError(`console ${status}`)) return;
    problems.push(`${name} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name} page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`${name} request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !expectedError(`http ${r.status()}`)) problems.push(`${name} HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
}

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    steps.push(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed = true;
    steps.push(`FAIL ${name}: ${err.stack || err}`);
    throw err;
  }
}

/** Sends a chat message from the composer and waits for the streamed answer to finish. */
async function ask(page, text) {
  const before = await page.locator('.msg.agent').count();
  await page.locator('#composer').fill(text);
  await page.locator('#composer').press('Enter');
  await page.locator('.msg.agent').nth(before).waitFor();
  await page.waitForFunction((n) => {
    const agents = document.querySelectorAll('.msg.agent');
    return agents.length > n && !agents[n].hasAttribute('aria-busy');
  }, before, { timeout: 60_000 });
  return page.locator('.msg.agent').nth(before);
}

const email = `analyst-${Date.now()}@example.com`;
const password = 'correct-horse-battery';
let page;
// The Idempotency-Key of the last refused-then-retried message (two steps compare keys).
let lastKey;

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  watch(page, 'desktop');

  await step('cold load: first paint and bytes served', async () => {
    await page.goto(base, { waitUntil: 'load' });
    await page.locator('#auth-email').waitFor();
    const timing = await page.evaluate(() => {
      const paint = performance.getEntriesByType('paint');
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      return {
        firstPaint: paint.find((p) => p.name === 'first-paint')?.startTime,
        firstContentfulPaint: paint.find((p) => p.name === 'first-contentful-paint')?.startTime,
        transferred: nav.transferSize + resources.reduce((a, r) => a + r.transferSize, 0),
        decoded: nav.decodedBodySize + resources.reduce((a, r) => a + r.decodedBodySize, 0),
        requests: resources.length + 1,
      };
    });
    Object.assign(figures, timing);
    assert.ok(timing.firstContentfulPaint > 0, 'a first contentful paint is recorded');
    // The focus starts in the form: the page works from the keyboard.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'auth-email');
    await page.screenshot({ path: join(shots, '01-sign-in.png') });
  });

  await step('sign up', async () => {
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('Display name').fill('Zed Analyst');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Password').press('Enter');
    await page.locator('#composer').waitFor();
    assert.match(await page.locator('#who').textContent(), /Zed Analyst/);
    assert.ok(await page.evaluate(() => localStorage.getItem('pi.token')), 'the token is kept');
  });

  await step('an analytics question streams, shows its tools and charts their data', async () => {
    // Record every length the answer's text takes while it streams.
    await page.evaluate(() => {
      window.__lengths = [];
      new MutationObserver(() => {
        const texts = document.querySelectorAll('.msg.agent .text');
        const last = texts[texts.length - 1];
        if (last) window.__lengths.push(last.textContent.length);
      }).observe(document.querySelector('.log'), { subtree: true, childList: true, characterData: true });
    });
    // The offline model writes its words in microseconds; a slow link (Chromium's own network
    // emulation) spreads them over time the way a real model's pace would.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 16 * 1024, uploadThroughput: -1 });
    const answer = await ask(page, 'Give me the monthly visit trend for the top Costco in Dallas during 2024');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const lengths = await page.evaluate(() => [...new Set(window.__lengths.filter((n) => n > 0))]);
    assert.ok(lengths.length >= 2, `the answer grew in ${lengths.length} step(s)`);
    figures.streamSteps = lengths.length;
    const text = await answer.locator('.text').textContent();
    assert.match(text, /Costco/);
    assert.match(text, /2024/);
    // One collapsible card per tool, with arguments, result and duration.
    const card = answer.locator('details.tool[data-tool="get_place_summary"]');
    await card.waitFor();
    assert.equal(await answer.locator('details.tool[data-tool="search_places"]').count(), 1);
    await card.locator('summary').click();
    assert.match(await card.locator('summary').textContent(), /\d+ ms/);
    const output = JSON.parse(await card.locator('pre.result').textContent());
    const args = JSON.parse(await card.locator('pre.args').textContent());
    assert.equal(args.granularity, 'month');
    // The chart draws exactly the tool's data points.
    const chart = answer.locator('figure[data-kind="visits"] canvas');
    await chart.waitFor();
    await page.waitForFunction((el) => window.Chart?.getChart(el), await chart.elementHandle());
    const drawn = await chart.evaluate((el) => {
      const c = window.Chart.getChart(el);
      return { labels: c.data.labels, data: c.data.datasets[0].data, width: el.width };
    });
    const series = output.places[0].visits.by_period;
    assert.equal(series.length, 12);
    assert.deepEqual(drawn.labels, series.map((p) => p.period));
    assert.deepEqual(drawn.data, series.map((p) => p.visits));
    assert.ok(drawn.width > 200, 'the chart has a size');
    // And the answer's own figures come from the same output.
    assert.ok(text.includes(new Intl.NumberFormat('en-US').format(output.places[0].visits.total)) ||
      text.includes(String(output.places[0].visits.total)), 'the answer quotes the tool total');
    // The hourly shape is charted too, as percentages of the tool's shares.
    const hourly = await answer.locator('figure[data-kind="hourly"] canvas').evaluate((el) => window.Chart.getChart(el).data.datasets[0].data);
    assert.deepEqual(hourly, output.places[0].hourly_distribution.map((v) => +(v * 100).toFixed(2)));
    await card.locator('summary').click();
    await answer.locator('figure[data-kind="visits"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '02-chat-chart.png') });
  });

  await step('a trade area is drawn on a map', async () => {
    await page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await page.locator('.log .empty').waitFor();
    const answer = await ask(page, 'Distance bands of the trade area of the top Target in Atlanta');
    const map = answer.locator('figure[data-kind="trade-area"][data-ready="true"]');
    await map.waitFor();
    const shape = await map.evaluate((fig) => {
      const svg = fig.querySelector('svg').getBoundingClientRect();
      const area = fig.querySelector('path.trade-area').getBoundingClientRect();
      return {
        svg: [svg.width, svg.height],
        area: [area.x - svg.x, area.y - svg.y, area.width, area.height],
        states: fig.querySelector('path.states').getAttribute('d').length,
        rings: fig.querySelectorAll('path.ring').length,
        origin: fig.querySelectorAll('circle.point.origin').length,
      };
    });
    assert.ok(shape.states > 10, 'state outlines are drawn');
    assert.ok(shape.area[2] > 40 && shape.area[3] > 40, `the trade area has a visible size: ${shape.area}`);
    assert.ok(shape.area[0] >= 0 && shape.area[1] >= 0 && shape.area[0] + shape.area[2] <= shape.svg[0] + 1 && shape.area[1] + shape.area[3] <= shape.svg[1] + 1, `the trade area is inside the map: ${JSON.stringify(shape)}`);
    assert.equal(shape.origin, 1, 'the place is marked');
    assert.equal(shape.rings, 4, 'four bounded distance bands are drawn');
    const card = answer.locator('details.tool[data-tool="get_trade_area_profile"]');
    const output = JSON.parse(await card.locator('pre.result').textContent({ timeout: 5000 }).catch(async () => {
      await card.locator('summary').click();
      return card.locator('pre.result').textContent();
    }));
    const bands = await answer.locator('figure[data-kind="bands"] canvas').evaluate((el) => window.Chart.getChart(el).data);
    assert.deepEqual(bands.labels, output.profiles[0].geo_units.map((u) => u.id));
    await map.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '03-trade-area-map.png') });
  });

  await step('a failed turn shows the server message and asks again', async () => {
    // What the server sends when the agent fails after the message is stored (e.g. an LLM that
    // stays rate-limited): the stored message, then an error event. Only the first try fails.
    let refused = false;
    const keys = [];
    await page.route('**/messages/stream', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (refused) return route.continue();
      refused = true;
      const conversation = route.request().url().split('/').at(-3);
      const frames = [
        ['user_message', { id: crypto.randomUUID(), conversation_id: conversation, role: 'user', content: 'My name is Zed', created_at: new Date().toISOString() }],
        ['error', { detail: 'The agent is busy; try again in a moment.', code: 'agent_unavailable', status: 503 }],
      ];
      await route.fulfill({
        status: 200,
        contentType: 'text/event-stream',
        body: frames.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join(''),
      });
    });
    await page.locator('#composer').fill('My name is Zed');
    await page.locator('#composer').press('Enter');
    const alert = page.locator('.msg.error[role="alert"]');
    await alert.waitFor();
    assert.match(await alert.textContent(), /The agent is busy; try again in a moment\./);
    assert.equal(await page.locator('.msg.agent').last().getAttribute('aria-busy'), null, 'the failed answer is not left busy');
    const before = await page.locator('.msg.agent').count();
    await alert.getByRole('button', { name: 'Ask again' }).click();
    await page.waitForFunction((n) => {
      const agents = document.querySelectorAll('.msg.agent');
      return agents.length > n && !agents[n].hasAttribute('aria-busy');
    }, before);
    assert.equal(await alert.count(), 0, 'the error is replaced by the answer');
    assert.equal(keys.length, 2);
    assert.match(keys[0] ?? '', /^[0-9a-f-]{36}$/, 'each message has an Idempotency-Key');
    assert.equal(keys[1], keys[0], 'asking again keeps the message key: never stored twice');
    await page.unroute('**/messages/stream');
    lastKey = keys[0];
  });

  await step('a send refused by unavailable storage is retried by itself with its key', async () => {
    const keys = [];
    await page.route('**/messages/stream', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      if (keys.length > 1) return route.continue();
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        headers: { 'Retry-After': '1' },
        body: JSON.stringify({ detail: 'Storage is temporarily unavailable; please retry shortly.', code: 'storage_unavailable' }),
      });
    });
    // The refusal below is on purpose: one 503 and the browser's console line about it.
    provoked.set('http 503', 1);
    provoked.set('console 503', 1);
    const before = await page.locator('.msg.agent').count();
    await page.locator('#composer').fill('How busy is the busiest Costco in Dallas?');
    await page.locator('#composer').press('Enter');
    await page.waitForFunction((n) => {
      const agents = document.querySelectorAll('.msg.agent');
      return agents.length > n && !agents[agents.length - 1].hasAttribute('aria-busy');
    }, before);
    assert.equal(await page.locator('.msg.error').count(), 0, 'no error shown for a retried send');
    assert.equal(keys.length, 2, 'one automatic retry');
    assert.equal(keys[1], keys[0], 'the retry keeps the key');
    assert.notEqual(keys[0], lastKey, 'a new message has a new key');
    await page.unroute('**/messages/stream');
  });

  await step('the memory panel shows what the agent learnt', async () => {
    await page.getByRole('link', { name: 'Memory' }).click();
    const human = page.locator('.block[data-label="human"]');
    await human.waitFor();
    assert.match(await human.locator('pre').textContent(), /Zed/);
    assert.ok(await page.locator('.block[data-label="persona"]').count() <= 1);
    assert.ok(await page.locator('meter').count() >= 2, 'usage meters show');
    // Keyboard: the first Tab reaches the skip link, which jumps to the content and stays here.
    await page.reload();
    await human.waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    assert.equal(await page.evaluate(() => location.hash), '#/memory');
    await page.getByLabel('Search archival memory').fill('Costco');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(/Nothing matches|Costco/).first().waitFor();
  });

  await step('a persona statement is learnt and shown with its confidence', async () => {
    await page.getByRole('link', { name: 'Chat' }).click();
    await page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await page.locator('.log .empty').waitFor();
    await ask(page, "I'm a real estate director at a QSR chain");
    await page.getByRole('link', { name: 'Memory' }).click();
    await page.getByText('qsr_real_estate').first().waitFor();
    assert.match(await page.locator('main').textContent(), /qsr_real_estate · confidence \d+/);
    await page.locator('.block .badge.green').first().waitFor();
    await page.screenshot({ path: join(shots, '04-memory.png') });
  });

  await step('an answer stays in its conversation when the user switches mid-stream', async () => {
    await page.getByRole('link', { name: 'Chat' }).click();
    await page.locator('.conv a', { hasText: 'Distance bands' }).click();
    await page.locator('.msg.user', { hasText: 'Distance bands' }).waitFor();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 8 * 1024, uploadThroughput: -1 });
    // The question is held back a moment, so the user has already moved on when it is stored.
    await page.route('**/messages/stream', async (route) => {
      await new Promise((r) => setTimeout(r, 700));
      await route.continue();
    });
    await page.locator('#composer').fill('Trade area of the Costco in Denver');
    await page.locator('#composer').press('Enter');
    await page.locator('.conv a', { hasText: 'monthly visit trend' }).click();
    await page.locator('.msg.user', { hasText: 'monthly visit trend' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('.composer button').disabled, null, { timeout: 60_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.unroute('**/messages/stream');
    const log = await page.locator('.log').textContent();
    assert.ok(!log.includes('Denver'), 'the other conversation shows nothing of the answer');
    await page.locator('.conv a', { hasText: 'Distance bands' }).click();
    await page.locator('.msg.agent .text', { hasText: 'Trade area of Costco' }).waitFor();
  });

  await step('rename and delete a conversation', async () => {
    await page.getByRole('link', { name: 'Chat' }).click();
    const items = page.locator('.conv');
    await items.first().waitFor();
    const count = await items.count();
    assert.equal(count, 3);
    const first = items.first();
    const id = await first.getAttribute('data-id');
    await first.getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('New title').fill('QSR persona chat');
    await page.getByLabel('New title').press('Enter');
    await page.locator(`.conv[data-id="${id}"] a`, { hasText: 'QSR persona chat' }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.locator(`.conv[data-id="${id}"]`).getByRole('button', { name: /^Delete/ }).click();
    await page.locator(`.conv[data-id="${id}"]`).waitFor({ state: 'detached' });
    const listed = await page.evaluate(async () => {
      const r = await fetch('/chat/conversations', { headers: { Authorization: `Bearer ${localStorage.getItem('pi.token')}` } });
      return (await r.json()).conversations.map((c) => c.title);
    });
    assert.equal(listed.length, 2);
    assert.ok(!listed.includes('QSR persona chat'));
    await page.screenshot({ path: join(shots, '05-conversations.png') });
  });

  await step('an admin sees the overview, shared blocks, metrics and tool forms', async () => {
    execFileSync(serverBin, ['admin', 'grant', email], { env, cwd: dir, stdio: 'ignore' });
    // The operator's command is another process: the server sees it within AUTH_CACHE_TTL_MS
    // (1 s by default), so the console shows Admin after a reload within that bound.
    const granted = Date.now();
    for (;;) {
      await page.reload();
      await page.locator('#nav').waitFor();
      if (await page.locator('#nav [data-view="admin"]').isVisible()) break;
      assert.ok(Date.now() - granted < 3000, 'the grant is seen within AUTH_CACHE_TTL_MS + 2 s');
      await page.waitForTimeout(200);
    }
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.locator('.agent-card').first().waitFor();
    const agents = await page.locator('.agent-card').count();
    assert.ok(agents >= 9, `every agent is listed (${agents})`);
    const shared = page.locator('[data-kind="shared-blocks"] li', { hasText: 'qsr_real_estate' });
    await shared.waitFor();
    assert.match(await shared.textContent(), /held by 2 agents/);
    assert.match(await shared.textContent(), new RegExp(email.replace(/[.]/g, '\\.')));
    const requests = await page.locator('[data-metric="Requests"] .value').textContent();
    assert.ok(Number(requests.replace(/,/g, '')) > 10, `metrics show traffic: ${requests}`);
    assert.match(await page.locator('[data-metric="Agent turns"] .value').textContent(), /^[1-9]/);
    const tool = page.locator('details.tool-admin[data-tool="distance_between"]');
    await tool.locator('summary').click();
    await tool.getByLabel(/^from_id/).fill('metro:dallas');
    await tool.getByLabel(/^to_id/).fill('metro:houston');
    await tool.getByRole('button', { name: 'Run distance_between' }).click();
    const result = JSON.parse(await tool.locator('pre.result').textContent());
    assert.ok(result.distance_km > 300 && result.distance_km < 400, JSON.stringify(result));
    await tool.screenshot({ path: join(shots, '07-admin-tool.png') });
    await page.locator('.page').evaluate((el) => { el.scrollTop = 0; });
    await page.screenshot({ path: join(shots, '06-admin.png') });
  });

  await step('an admin imports their own places on the Data page; a hostile name stays text', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const csv = join(dir, 'our-stores.csv');
    writeFileSync(csv, 'id,name,latitude,longitude,brand,category,street,city,region,postcode,country\n' +
      `s1,"${hostile}",30.2672,-97.7431,,coffee_shop,100 Congress Ave,Austin,TX,78701,US\n` +
      's2,Bean Counter,30.2700,-97.7400,,coffee_shop,200 Congress Ave,Austin,TX,78701,US\n' +
      's3,,30.2700,-97.7400,,coffee_shop,300 Congress Ave,Austin,TX,78701,US\n');
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await page.getByRole('link', { name: 'Data' }).click();
    await page.locator('tr[data-dataset="synthetic"]').waitFor();
    await page.locator('#upload-dataset').fill('our-stores');
    await page.locator('#upload-kind').selectOption('places');
    await page.locator('#upload-file').setInputFiles(csv);
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.locator('#upload-status', { hasText: /Imported 2 of 3 rows of our-stores\.csv into our-stores \(1 rejected\)/ }).waitFor();
    const row = page.locator('tr[data-dataset="our-stores"]');
    await row.waitFor();
    assert.match(await row.textContent(), /our-stores.*Activate\s*2/);
    const history = page.locator('section[aria-label="Import history"]');
    await history.locator('tr', { hasText: 'our-stores.csv' }).waitFor();
    await history.locator('summary', { hasText: 'rejected rows' }).click();
    assert.match(await history.textContent(), /line 4, name: missing/);
    await page.screenshot({ path: join(shots, '09-data.png'), fullPage: true });
    await row.getByRole('button', { name: 'Activate' }).click();
    await row.locator('.badge.green', { hasText: 'active' }).waitFor();

    // The active set reaches this replica's tools within a second; the name is shown as text.
    await page.waitForTimeout(1300);
    await page.getByRole('link', { name: 'Chat' }).click();
    await page.locator('#composer').waitFor();
    const answer = await ask(page, 'Which coffee shops are in Austin?');
    const text = await answer.textContent();
    assert.ok(text.includes(hostile), `the hostile name is shown as text: ${text}`);
    assert.ok(text.includes('our-stores'), `the answer names the data set: ${text}`);
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element was made from a name');
    assert.deepEqual(dialogs, [], 'no script ran');
    await answer.screenshot({ path: join(shots, '10-own-data-answer.png') });

    // Back to the built-in set for the steps after this one.
    await page.getByRole('link', { name: 'Data' }).click();
    await page.locator('tr[data-dataset="synthetic"]').getByRole('button', { name: 'Activate' }).click();
    await page.locator('tr[data-dataset="synthetic"] .badge.green').waitFor();
    await page.waitForTimeout(1300);
  });

  await step('phone width: readable, no sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    watch(p, 'phone');
    await p.goto(base);
    await p.getByLabel('Email').fill(email);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('.conv').first().waitFor();
    await p.locator('.conv a', { hasText: /Costco/ }).click();
    await p.locator('.msg.agent').first().waitFor();
    const answer = await ask(p, 'Give me the monthly visit trend for the top Costco in Dallas during 2024');
    await answer.locator('figure[data-kind="visits"] canvas').waitFor();
    // Nothing is wider than the screen: not the page, not a scrolling pane, not a chart or map.
    const wide = await p.evaluate(() => [...document.querySelectorAll('body, main, .log, .sidebar, .msg, figure, .top')]
      .filter((el) => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > window.innerWidth + 1)
      .map((el) => `${el.tagName}.${el.className} ${el.scrollWidth}/${el.clientWidth} right=${el.getBoundingClientRect().right}`));
    assert.deepEqual(wide, [], 'nothing scrolls sideways at phone width');
    await answer.locator('figure[data-kind="visits"]').scrollIntoViewIfNeeded();
    await p.screenshot({ path: join(shots, '08-phone.png') });
    await phone.close();
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#auth-email').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('pi.token')), null);
  });

  assert.deepEqual(problems, [], 'no console errors, no failed requests');
} catch (err) {
  failed = true;
  if (page) await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  if (!steps.some((s) => s.startsWith('FAIL'))) steps.push(`FAIL ${err.stack || err}`);
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

console.log(steps.join('\n'));
if (problems.length) console.log(`problems:\n  ${problems.join('\n  ')}`);
console.log(`figures: first paint ${figures.firstPaint?.toFixed(0)} ms, first contentful paint ${figures.firstContentfulPaint?.toFixed(0)} ms, ` +
  `${figures.requests} requests, ${(figures.transferred / 1024).toFixed(1)} KiB transferred (${(figures.decoded / 1024).toFixed(1)} KiB decoded), ` +
  `answer grew in ${figures.streamSteps} steps; screenshots in ${shots}`);
process.exit(failed ? 1 : 0);
