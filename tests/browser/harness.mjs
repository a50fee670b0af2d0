// Starts the test host and headless Chromium, and gives each test a few helpers to play people
// in the browser.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.LANCHAT_CHROMIUM || '/usr/bin/chromium';
const hostPath = process.env.LANCHAT_TESTHOST;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const WAIT_MS = 10000;

// The test host: a ChatServer on 127.0.0.1 that takes host commands on its standard input.
export class TestHost {
  static async start(args = []) {
    if (!hostPath)
      throw new Error('LANCHAT_TESTHOST must name the lanchat_testhost program');
    const host = new TestHost(spawn(hostPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const line = await host.nextLine(/^listening on /);
    host.url = line.slice('listening on '.length);
    return host;
  }

  constructor(child) {
    this.child = child;
    this.lines = [];
    this.waiters = [];
    this.log = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.wake();
    });
    // The server's log, kept for the failure message.
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.log.push(line);
      if (this.log.length > 200)
        this.log.shift();
    });
    child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  wake() {
    for (const waiter of this.waiters.splice(0))
      waiter();
  }

  // Takes the first line that matches, waiting up to WAIT_MS for it.
  async nextLine(pattern) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = this.lines.findIndex((line) => pattern.test(line));
      if (index >= 0)
        return this.lines.splice(index, 1)[0];
      if (this.exited || Date.now() > deadline) {
        const said = JSON.stringify(this.lines);
        throw new Error(`the test host did not say ${pattern}; it said ${said}\n`
          + this.log.join('\n'));
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async command(line) {
    const name = line.split(' ')[0];
    this.child.stdin.write(line + '\n');
    await this.nextLine(new RegExp(`^ok ${name}$`));
    if (name === 'restart') {
      const listening = await this.nextLine(/^listening on /);
      this.url = listening.slice('listening on '.length);
    }
  }

  async stop() {
    if (this.exited)
      return;
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), WAIT_MS);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }
}

// Playwright gives every launch a fresh, temporary user-data-dir of its own.
export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60000,
  });
}

// One person in their own browser context: storage, cookies and sockets of their own.
export async function openPerson(browser, url, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const person = { context, page, sockets: [], problems: [] };
  page.on('websocket', (socket) => person.sockets.push(socket));
  page.on('pageerror', (error) => person.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A refused WebSocket while the server restarts is expected; anything else is not.
    if (message.type() === 'error' && !/WebSocket connection to .* failed/.test(message.text()))
      person.problems.push(`console error: ${message.text()}`);
  });
  await page.goto(url);
  return person;
}

export async function logIn(person, nick) {
  const { page } = person;
  await page.fill('#nick-input', nick);
  await page.click('#login-button');
  await page.waitForSelector('#chat:not([hidden])');
  await waitForText(page, '#my-nick', nick);
}

export async function join(browser, url, nick, options) {
  const person = await openPerson(browser, url, options);
  await logIn(person, nick);
  return person;
}

// Waits until some element matching selector has exactly this text content.
export async function waitForText(page, selector, text) {
  try {
    await page.waitForFunction(
      ([s, t]) => [...document.querySelectorAll(s)].some((node) => node.textContent === t),
      [selector, text], { timeout: WAIT_MS });
  } catch (error) {
    const seen = await page.$$eval(selector, (nodes) => nodes.map((node) => node.textContent));
    const wanted = JSON.stringify(text);
    throw new Error(`no ${selector} with text ${wanted}; seen ${JSON.stringify(seen)}`);
  }
}

// Waits until exactly count elements match selector; a failure lists what the conversation
// shows, errors included, since a missing message usually has its reason there.
export async function waitForCount(page, selector, count) {
  try {
    await page.waitForFunction(([s, n]) => document.querySelectorAll(s).length === n,
      [selector, count], { timeout: WAIT_MS });
  } catch (error) {
    const seen = await page.$$eval(selector, (nodes) => nodes.length);
    const shown = await page.$$eval('#messages > *', (nodes) => nodes.map(
      (node) => `${node.className}: ${node.textContent.replace(/\s+/g, ' ').slice(0, 80)}`));
    throw new Error(`${seen} of ${count} ${selector}; the conversation shows `
      + JSON.stringify(shown));
  }
}

export async function send(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

export async function texts(page, selector) {
  return page.$$eval(selector, (nodes) => nodes.map((node) => node.textContent));
}
