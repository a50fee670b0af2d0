// The browser client end to end: real headless Chromium against a real ChatServer on
// 127.0.0.1, played as the host through the test host's standard input.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  TestHost, join, launchBrowser, openPerson, logIn, send, texts, waitForCount, waitForText,
} from './harness.mjs';

const HTML = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
  + '<b>bold</b> & &amp; "quotes"';

// The client's first reconnect try comes after about a second; this is several times that.
const NO_RECONNECT_WINDOW_MS = 4000;

describe('LanChat in the browser', { timeout: 120000 }, () => {
  let host;
  let browser;
  const people = [];

  const person = async (nick, options) => {
    const someone = await join(browser, host.url, nick, options);
    people.push(someone);
    return someone;
  };

  before(async () => {
    host = await TestHost.start(['--name', 'Test LAN', '--motd', 'Be kind <3']);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const someone of people)
      await someone.context.close().catch(() => {});
    await browser?.close();
    await host?.stop();
  });

  test('the page comes up with the server name and no script errors', async () => {
    const visitor = await openPerson(browser, host.url);
    people.push(visitor);
    await waitForText(visitor.page, '#login-title', 'Test LAN');
    assert.equal(await visitor.page.isVisible('#password-row'), false);
    assert.deepEqual(visitor.problems, []);
  });

  test('two people chat in a room and write to each other', async () => {
    const alice = await person('alice');
    const bob = await person('bob');

    await waitForText(alice.page, '#conversation-title', '#lobby');
    await waitForText(alice.page, '.motd .text', 'Be kind <3');
    await send(alice.page, 'hello bob');
    await waitForText(bob.page, '#messages .message .text', 'hello bob');
    await waitForText(bob.page, '#messages .message .from', 'alice');

    // alice creates a room from the list, bob joins it with a command.
    await alice.page.click('#new-room-button');
    await alice.page.fill('#new-room-input', 'games');
    await alice.page.press('#new-room-input', 'Enter');
    await waitForText(alice.page, '#conversation-title', '#games');
    await send(bob.page, '/join games');
    await waitForText(bob.page, '#conversation-title', '#games');
    await waitForText(alice.page, '#messages .event', 'bob joined');
    await waitForText(bob.page, '#member-list .member-name', 'alice');
    await waitForText(bob.page, '#member-list .member-name', 'bob');

    // Typing shows up for the others, then the message arrives.
    await alice.page.fill('#message-input', 'g');
    await alice.page.type('#message-input', 'g');
    await waitForText(bob.page, '#typing', 'alice is typing…');
    await bob.page.waitForSelector('#member-list li.typing[data-nick="alice"]');
    await alice.page.press('#message-input', 'Enter');
    await waitForText(bob.page, '#messages .message .text', 'gg');
    await waitForText(bob.page, '#typing', '');

    // bob writes to alice alone from the member list.
    await bob.page.click('#member-list li[data-nick="alice"] button');
    await waitForText(bob.page, '#conversation-title', '@alice');
    await send(bob.page, 'psst, alice');
    await waitForText(bob.page, '#messages .message .text', 'psst, alice');
    await alice.page.waitForSelector('#dm-list button[data-dm="bob"] .badge');
    await alice.page.click('#dm-list button[data-dm="bob"]');
    await waitForText(alice.page, '#conversation-title', '@bob');
    await waitForText(alice.page, '#messages .message .text', 'psst, alice');

    // The room's history is there for someone who joins later.
    const carol = await person('carol');
    await send(carol.page, '/join games');
    await waitForText(carol.page, '#messages .message .text', 'gg');

    for (const someone of [alice, bob, carol])
      assert.deepEqual(someone.problems, []);
  });

  test('a line that starts with // goes out with one slash less', async () => {
    const writer = await person('slasher');
    await send(writer.page, '//slash escape');
    await waitForText(writer.page, '#messages .message .text', '/slash escape');
    assert.equal(await writer.page.inputValue('#message-input'), '');
  });

  test('a /msg to someone not there keeps the line to fix the name', async () => {
    const sender = await person('sender');
    await send(sender.page, '/msg nobodyhere hello?');
    await waitForText(sender.page, '#messages .error-line', 'Nobody by that name is connected.');
    assert.equal(await sender.page.inputValue('#message-input'), '/msg nobodyhere hello?');
    // The conversation opened for the message is gone again; the person is back in the lobby.
    await waitForText(sender.page, '#conversation-title', '#lobby');
    assert.equal(await sender.page.$$eval('#dm-list button', (nodes) => nodes.length), 0);
  });

  test('names and texts full of HTML show literally and run nothing', async () => {
    const victim = await person('victim');

    // A nickname with markup is refused by the server; the refusal shows as text.
    const mallory = await openPerson(browser, host.url);
    people.push(mallory);
    await mallory.page.fill('#nick-input', '<img src=x onerror=alert(1)>');
    await mallory.page.click('#login-button');
    await mallory.page.waitForSelector('#login-error:not([hidden])');
    assert.equal(await mallory.page.$$eval('#login img:not(.logo)', (n) => n.length), 0);
    await logIn(mallory, 'mallory');

    await send(mallory.page, HTML);
    await waitForText(victim.page, '#messages .message .text', HTML);
    await host.command(`topic lobby ${HTML}`);
    await waitForText(victim.page, '#conversation-topic', HTML);
    await host.command(`notice ${HTML}`);
    await waitForText(victim.page, '#messages .notice .text', HTML);

    for (const page of [victim.page, mallory.page]) {
      const injected = await page.$$eval('#messages img, #messages script, #messages b, '
        + '#conversation-head img, #conversation-head b', (nodes) => nodes.length);
      assert.equal(injected, 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
    }
    assert.deepEqual(victim.problems, []);
  });

  test('a kicked or banned person sees the reason and does not reconnect', async () => {
    const dave = await person('dave');
    const erin = await person('erin');
    const witness = await person('witness');

    const kickReason = '<b>Be nice</b> & calm down';
    await host.command(`kick dave ${kickReason}`);
    await waitForText(dave.page, '#ended-title', 'You were removed from the chat');
    await waitForText(dave.page, '#ended-reason', kickReason);
    await waitForText(witness.page, '#messages .event',
      `dave was removed by the host: ${kickReason}`);

    const banReason = 'Spamming <script>window.__pwned=4</script>';
    await host.command(`ban erin ${banReason}`);
    await waitForText(erin.page, '#ended-title', 'You are banned from this chat');
    await waitForText(erin.page, '#ended-reason', banReason);
    await waitForText(erin.page, '#ended-until', 'The ban has no end.');

    // Nothing to wait for but the absence of a new connection: give the backoff its chance.
    await dave.page.waitForTimeout(NO_RECONNECT_WINDOW_MS);
    assert.equal(dave.sockets.length, 1);
    assert.equal(erin.sockets.length, 1);
    assert.equal(await dave.page.isVisible('#ended'), true);
    assert.equal(await erin.page.isVisible('#ended'), true);
    assert.equal(await dave.page.$$eval('#ended b', (nodes) => nodes.length), 0);
    assert.equal(await erin.page.evaluate(() => window.__pwned), undefined);
  });

  test('a new nickname shows everywhere, direct messages included', async () => {
    const henry = await person('henry');
    const iris = await person('iris');
    await iris.page.click('#member-list li[data-nick="henry"] button');
    await send(iris.page, 'hi henry');
    await henry.page.waitForSelector('#dm-list button[data-dm="iris"]');

    await henry.page.click('#rename-button');
    await henry.page.fill('#rename-input', 'hank');
    await henry.page.press('#rename-input', 'Enter');
    await waitForText(henry.page, '#my-nick', 'hank');
    await iris.page.waitForSelector('#dm-list button[data-dm="hank"]');
    await waitForText(iris.page, '#conversation-title', '@hank');
    await iris.page.click('#room-list button[data-room="lobby"]');
    await waitForText(iris.page, '#messages .event', 'henry is now hank');
    await waitForText(iris.page, '#member-list .member-name', 'hank');

    // A name in use is refused, and the old one stays.
    await henry.page.click('#rename-button');
    await henry.page.fill('#rename-input', 'IRIS');
    await henry.page.press('#rename-input', 'Enter');
    await henry.page.waitForSelector('#toast:not([hidden])');
    await waitForText(henry.page, '#my-nick', 'hank');
  });

  test('a refused rename says why once and keeps the name to correct', async () => {
    const jules = await person('jules');
    await send(jules.page, '/nick bad nick');
    await waitForText(jules.page, '#toast', 'That nickname is not allowed.');
    await jules.page.waitForSelector('#rename-form:not([hidden])');
    // No validation bubble besides the toast.
    assert.equal(await jules.page.$eval('#rename-input', (input) => input.validationMessage), '');
    assert.equal(await jules.page.inputValue('#rename-input'), 'bad nick');
    await waitForText(jules.page, '#my-nick', 'jules');
  });

  test('the rename form opened by /nick has readable buttons', async () => {
    const kim = await person('kim');
    await send(kim.page, '/nick bad nick');
    await kim.page.waitForSelector('#rename-form:not([hidden])');
    // WCAG's contrast ratio of the Cancel text against the sidebar behind the button.
    const ratio = await kim.page.evaluate(() => {
      const rgb = (node, property) => getComputedStyle(node)[property].match(/[\d.]+/g)
        .slice(0, 3).map(Number);
      const luminance = (channels) => {
        const [r, g, b] = channels.map((c) => {
          const v = c / 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const text = luminance(rgb(document.getElementById('rename-cancel'), 'color'));
      const back = luminance(rgb(document.getElementById('sidebar'), 'backgroundColor'));
      return (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05);
    });
    assert.ok(ratio >= 4.5, `the Cancel button's contrast is ${ratio.toFixed(2)}:1`);
  });

  test('a muted person cannot write until the mute ends', async () => {
    const grace = await person('grace');
    await host.command('mute grace 2');
    await grace.page.waitForSelector('#message-input:disabled');
    const placeholder = await grace.page.getAttribute('#message-input', 'placeholder');
    assert.match(placeholder, /^The host has muted you until /);
    // The mute runs out by itself: the page opens the composer again.
    await grace.page.waitForSelector('#message-input:enabled', { timeout: 10000 });
    await send(grace.page, 'thanks for unmuting');
    await waitForText(grace.page, '#messages .message .text', 'thanks for unmuting');
  });

  test('the list follows new messages at its end and stays put when scrolled back', async () => {
    const writer = await person('writer');
    const reader = await person('reader', { viewport: { width: 390, height: 600 } });
    await send(writer.page, '/join long');
    await send(reader.page, '/join long');
    await waitForText(writer.page, '#messages .event', 'reader joined');
    for (let i = 1; i <= 8; ++i)
      await send(writer.page, `message ${i}\n` + 'more\n'.repeat(4));
    await waitForCount(reader.page, '#messages .message', 8);
    const atEnd = () => reader.page.$eval('#messages',
      (list) => list.scrollHeight - list.scrollTop - list.clientHeight < 2);
    assert.equal(await atEnd(), true);

    // Somewhere in the middle, where neither a rebuilt list (back at the top) nor a followed
    // one (at the end) would be.
    await reader.page.$eval('#messages', (list) => {
      list.scrollTop = 60;
    });
    const visitor = await person('visitor');
    await send(visitor.page, '/join long');
    await waitForText(reader.page, '#messages .event', 'visitor joined');
    await send(writer.page, 'one more');
    await waitForText(reader.page, '#messages .text', 'one more');
    assert.equal(await reader.page.$eval('#messages', (list) => list.scrollTop), 60);
  });

  test('history from earlier days is split by day', async () => {
    // The page talks to a stand-in server here, so that messages can carry any time.
    const context = await browser.newContext();
    people.push({ context });
    const page = await context.newPage();
    // Noon of a day before today, in the same time zone as the browser's.
    const now = new Date();
    const noon = (daysAgo, minutes = 0) => new Date(now.getFullYear(), now.getMonth(),
      now.getDate() - daysAgo, 12, minutes);
    const message = (id, date, text) => ({
      id, room: 'lobby', from: 'old', text, ts: date.toISOString(),
    });
    await page.routeWebSocket(/\/ws$/, (socket) => {
      socket.onMessage((data) => {
        const request = JSON.parse(data);
        if (request.type !== 'hello')
          return;
        socket.send(JSON.stringify({
          type: 'welcome', nick: request.nick, server: { name: 'Stand-in', version: '1' },
          motd: '', limits: {}, rooms: [{ name: 'lobby', members: 1, topic: '' }],
        }));
        socket.send(JSON.stringify({
          type: 'joined', room: 'lobby', topic: '', members: [request.nick, 'old'],
          history: [
            message(1, noon(3), 'three days ago'),
            message(2, noon(3, 1), 'a minute later'),
            message(3, noon(1), 'yesterday'),
            message(4, now, 'just now'),
          ],
        }));
      });
    });
    await page.goto(host.url);
    await page.fill('#nick-input', 'reader2');
    await page.click('#login-button');
    await waitForText(page, '#messages .message .text', 'just now');
    const days = await texts(page, '#messages .day');
    assert.equal(days.length, 3);
    assert.deepEqual(days.slice(1), ['Yesterday', 'Today']);
    // The two messages of three days ago stay one group under one header.
    assert.equal(await page.$$eval('#messages .message.continued', (nodes) => nodes.length), 1);
  });

  test('backs off exponentially while the server stays away', async () => {
    // A stand-in server that welcomes once, goes away, and then turns every try down.
    const context = await browser.newContext();
    people.push({ context });
    const page = await context.newPage();
    const tries = [];
    await page.routeWebSocket(/\/ws$/, (socket) => {
      tries.push(Date.now());
      if (tries.length > 1) {
        socket.close({ code: 1013, reason: 'Try again later' });
        return;
      }
      socket.onMessage((data) => {
        const request = JSON.parse(data);
        socket.send(JSON.stringify({
          type: 'welcome', nick: request.nick, server: { name: 'Stand-in', version: '1' },
          motd: '', limits: {}, rooms: [],
        }));
        socket.send(JSON.stringify({
          type: 'joined', room: 'lobby', topic: '', members: [request.nick], history: [],
        }));
        setTimeout(() => socket.close({ code: 1001, reason: 'Going away' }), 200);
      });
    });
    await page.goto(host.url);
    await page.fill('#nick-input', 'patient');
    await page.click('#login-button');
    await page.waitForSelector('#chat:not([hidden])');
    await page.waitForSelector('#banner:not([hidden])');
    const lostAt = Date.now();

    // Waits of about 1, 2 and 4 seconds (each give or take a fifth): two or three tries in
    // the window; a fixed one-second retry would make six or more.
    await page.waitForTimeout(7000);
    const retries = tries.slice(1).map((t) => t - lostAt);
    assert.ok(retries.length >= 2 && retries.length <= 3, `retries at ${retries} ms`);
    assert.ok(retries[1] - retries[0] >= 1400, `retries at ${retries} ms`);
    assert.match(await page.textContent('#banner-text'), /Reconnecting/);
    assert.equal(await page.isVisible('#chat'), true);
  });

  test('after a lost connection, waits out its own old nickname', async () => {
    // The stand-in still holds the lost connection's nickname at the first try, as a server
    // does until it notices the connection is gone.
    const context = await browser.newContext();
    people.push({ context });
    const page = await context.newPage();
    let tries = 0;
    await page.routeWebSocket(/\/ws$/, (socket) => {
      const attempt = ++tries;
      socket.onMessage((data) => {
        const request = JSON.parse(data);
        if (request.type !== 'hello')
          return;
        if (attempt === 2) {
          socket.send(JSON.stringify({
            type: 'error', code: 'nick_taken', message: 'That nickname is in use.',
          }));
          return;
        }
        socket.send(JSON.stringify({
          type: 'welcome', nick: request.nick, server: { name: 'Stand-in', version: '1' },
          motd: '', limits: {}, rooms: [],
        }));
        socket.send(JSON.stringify({
          type: 'joined', room: 'lobby', topic: '', members: [request.nick], history: [],
        }));
        if (attempt === 1)
          setTimeout(() => socket.close({ code: 1001, reason: 'Going away' }), 200);
      });
    });
    await page.goto(host.url);
    await page.fill('#nick-input', 'steady');
    await page.click('#login-button');
    await page.waitForSelector('#banner:not([hidden])');
    await page.waitForFunction(() => document.getElementById('banner').hidden
      && document.getElementById('connection-state').textContent === 'online');
    assert.equal(tries, 3);
    await waitForText(page, '#my-nick', 'steady');
    assert.equal(await page.isVisible('#chat'), true);
  });

  test('works in one column on a phone', async () => {
    const phone = await person('phone', { viewport: { width: 390, height: 844 } });
    const { page } = phone;
    assert.equal(await page.isVisible('#menu-button'), true);
    const sidebar = await page.$eval('#sidebar', (node) => node.getBoundingClientRect().right);
    assert.ok(sidebar <= 0, `the room list should be off screen, ends at ${sidebar}`);
    const width = await page.$eval('#conversation', (node) => node.getBoundingClientRect().width);
    assert.equal(width, 390);

    await page.click('#menu-button');
    await page.waitForFunction(
      () => document.getElementById('sidebar').getBoundingClientRect().left === 0);
    await page.click('#room-list button[data-room="lobby"]');
    await page.waitForFunction(
      () => document.getElementById('sidebar').getBoundingClientRect().right <= 0);
    await page.click('#members-button');
    await waitForText(page, '#member-list .member-name', 'phone');
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.equal(scrollWidth, 390);
  });

  test('long nicknames are cut short in line in the member list', async () => {
    const wideNick = 'abcdefghijklmnopqrstuvwx';
    const phoneNick = 'xwvutsrqponmlkjihgfedcba';
    const wide = await person(wideNick);
    const phone = await person(phoneNick, { viewport: { width: 390, height: 844 } });
    await send(wide.page, '/join longnames');
    await send(phone.page, '/join longnames');
    await waitForText(wide.page, '#messages .event', `${phoneNick} joined`);
    // One row of each kind in both lists: one's own, someone typing, someone idle.
    await wide.page.type('#message-input', 'hi');
    await phone.page.waitForSelector(`#member-list li.typing[data-nick="${wideNick}"]`);
    await phone.page.click('#members-button');
    await phone.page.waitForFunction(() => document.getElementById('members')
      .getBoundingClientRect().right === window.innerWidth);

    for (const [page, own] of [[wide.page, wideNick], [phone.page, phoneNick]]) {
      const rows = await page.$$eval('#member-list li', (items) => items.map((item) => {
        const box = item.querySelector('button').getBoundingClientRect();
        const name = item.querySelector('.member-name');
        return {
          nick: item.dataset.nick,
          left: box.left,
          width: box.width,
          height: box.height,
          cut: name.scrollWidth > name.clientWidth,
          ellipsis: getComputedStyle(name).textOverflow === 'ellipsis',
          title: item.querySelector('button').title,
        };
      }));
      for (const row of rows) {
        assert.deepEqual([row.left, row.width, row.height],
          [rows[0].left, rows[0].width, rows[0].height], JSON.stringify(rows));
      }
      const mine = rows.find((row) => row.nick === own);
      assert.ok(mine && mine.cut && mine.ellipsis, JSON.stringify(rows));
      assert.match(mine.title, new RegExp(own));
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.equal(scrollWidth, page.viewportSize().width);
    }
  });

  test('reconnects after the server restarts and rejoins its rooms', async () => {
    const frank = await person('frank');
    await send(frank.page, '/join quiet');
    await waitForText(frank.page, '#conversation-title', '#quiet');

    await host.command('restart');
    await frank.page.waitForFunction(() => document.getElementById('connection-state')
      .textContent === 'offline' || document.getElementById('banner').hidden === false);
    await frank.page.waitForFunction(
      () => document.getElementById('connection-state').textContent === 'online');
    assert.ok(frank.sockets.length >= 2);
    await frank.page.waitForSelector('#room-list button[data-room="quiet"]:not(.stale)');
    await send(frank.page, 'back again');
    await waitForText(frank.page, '#messages .message .text', 'back again');
    assert.deepEqual(frank.problems, []);
  });
});

describe('LanChat with a server password', { timeout: 60000 }, () => {
  let host;
  let browser;
  const people = [];

  before(async () => {
    host = await TestHost.start(['--password', 'open sesame']);
    browser = await launchBrowser();
  });

  after(async () => {
    for (const someone of people)
      await someone.context.close().catch(() => {});
    await browser?.close();
    await host?.stop();
  });

  test('asks for the password, refuses a wrong one and lets the right one in', async () => {
    const zoe = await openPerson(browser, host.url);
    people.push(zoe);
    await zoe.page.waitForSelector('#password-row:not([hidden])');

    await zoe.page.fill('#nick-input', 'zoe');
    await zoe.page.fill('#password-input', 'guess');
    await zoe.page.click('#login-button');
    await waitForText(zoe.page, '#login-error', 'That password is not right.');
    await zoe.page.waitForSelector('#login-button:not([disabled])');
    assert.equal(zoe.sockets.length, 1);

    await zoe.page.fill('#password-input', 'open sesame');
    await zoe.page.click('#login-button');
    await zoe.page.waitForSelector('#chat:not([hidden])');
    await waitForText(zoe.page, '#my-nick', 'zoe');

    // The same nickname in other letters' case is taken; the page says so and stays.
    const other = await openPerson(browser, host.url);
    people.push(other);
    await other.page.fill('#nick-input', 'ZOE');
    await other.page.fill('#password-input', 'open sesame');
    await other.page.click('#login-button');
    await other.page.waitForSelector('#login-error:not([hidden])');
    assert.equal(await other.page.isVisible('#login'), true);
    assert.deepEqual(zoe.problems, []);
    assert.deepEqual(other.problems, []);
  });
});
