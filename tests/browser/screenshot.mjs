// Takes the phone-sized screenshot for the docs: a short conversation seen in a 390x844 viewport.
//
//   export LANCHAT_TESTHOST=build/tests/browser/lanchat_testhost
//   node screenshot.mjs ../../docs/screenshot-phone.png
//
// A second argument "rooms" opens the room list before the picture is taken.

import { TestHost, join, launchBrowser, send, waitForText } from './harness.mjs';

const output = process.argv[2] || 'screenshot-phone.png';
const view = process.argv[3] || 'chat';

const host = await TestHost.start(['--name', 'Office LAN',
  '--motd', 'Welcome! Be kind, and say hi in #lobby.']);
const browser = await launchBrowser();
try {
  const maya = await join(browser, host.url, 'maya');
  const leo = await join(browser, host.url, 'leo');
  const ana = await join(browser, host.url, 'ana', {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: 'light',
  });

  // Each line is seen on the phone before the next is sent, so that the order is the script's.
  const say = async (person, text) => {
    await send(person.page, text);
    await waitForText(ana.page, '#messages .text', text);
  };

  await host.command('topic lobby Lunch at 12:30, pizza in the kitchen');
  await say(maya, 'Morning everyone! Slides for the 10:00 are on the shared drive.');
  await say(maya, 'Ping me if the link does not work.');
  await say(leo, 'Thanks Maya, I will have a look before the call.');
  await say(ana, 'Got them, thanks! Who is in for pizza?');
  await say(leo, 'Me, obviously!');
  await say(leo, 'ana, can you grab the big table?');
  const notice = 'The printer on the 2nd floor works again.';
  await host.command(`notice ${notice}`);
  await waitForText(ana.page, '#messages .notice .text', notice);
  await send(leo.page, '/join design');

  await send(maya.page, '/msg ana Can you look at my draft after lunch?');
  await ana.page.waitForSelector('#menu-badge:not([hidden])');
  await maya.page.click('#room-list button[data-room="lobby"]');
  await say(maya, 'Count me in!');
  await maya.page.fill('#message-input', 'Also');
  await maya.page.type('#message-input', ',');
  await waitForText(ana.page, '#typing', 'maya is typing…');

  if (view === 'rooms') {
    await ana.page.click('#menu-button');
    await ana.page.waitForTimeout(400); // the drawer slides in
  }
  await ana.page.screenshot({ path: output });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await host.stop();
}
