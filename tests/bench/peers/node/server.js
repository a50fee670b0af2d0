'use strict';

// A peer server for the benchmark: the part of the LanChat protocol the load generator uses
// (hello/welcome, the automatic lobby, join/joined, say/message, presence), written the way a
// Node.js chat server usually is, on the ws package. No rate limit.
//
//   node server.js --port 9001 [--host 127.0.0.1]

const http = require('http');
const { WebSocketServer } = require('ws');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const host = option('--host', '127.0.0.1');
const port = Number(option('--port', '9001'));
const historyLength = 50;
const nickPattern = /^[\p{L}\p{N}_.-]{1,24}$/u;
const roomPattern = /^[a-z0-9_-]{1,32}$/;

const rooms = new Map(); // name -> { members: Set<client>, history: [] }
const nicks = new Map(); // lower-case nickname -> client
let nextId = 1;

function room(name) {
  let r = rooms.get(name);
  if (!r) {
    r = { members: new Set(), history: [] };
    rooms.set(name, r);
  }
  return r;
}

function send(client, object) {
  client.ws.send(JSON.stringify(object));
}

function error(client, code, message, ref) {
  const frame = { type: 'error', code, message };
  if (ref !== undefined) frame.ref = ref;
  send(client, frame);
}

function broadcast(r, text, except) {
  for (const member of r.members) {
    if (member !== except) member.ws.send(text);
  }
}

function join(client, name, ref) {
  const r = room(name);
  const already = r.members.has(client);
  r.members.add(client);
  client.rooms.add(name);
  const reply = {
    type: 'joined',
    room: name,
    topic: '',
    members: Array.from(r.members, (m) => m.nick),
    history: r.history,
  };
  if (ref !== undefined) reply.ref = ref;
  send(client, reply);
  if (!already) {
    broadcast(r, JSON.stringify({ type: 'presence', room: name, nick: client.nick,
                                  event: 'joined' }), client);
  }
}

function leaveAll(client, event) {
  for (const name of client.rooms) {
    const r = rooms.get(name);
    if (!r) continue;
    r.members.delete(client);
    broadcast(r, JSON.stringify({ type: 'presence', room: name, nick: client.nick, event }));
    if (r.members.size === 0 && name !== 'lobby') rooms.delete(name);
  }
  client.rooms.clear();
  if (client.nick) nicks.delete(client.nick.toLowerCase());
}

function onMessage(client, data, isBinary) {
  if (isBinary) {
    client.ws.close(1003);
    return;
  }
  let request;
  try {
    request = JSON.parse(data.toString());
  } catch (e) {
    error(client, 'bad_request', 'Not JSON.');
    return;
  }
  if (request === null || typeof request !== 'object' || typeof request.type !== 'string') {
    error(client, 'bad_request', 'Not a request.');
    return;
  }
  const ref = typeof request.ref === 'string' ? request.ref : undefined;
  if (request.type !== 'hello' && !client.nick) {
    error(client, 'not_ready', 'Say hello first.', ref);
    return;
  }
  switch (request.type) {
    case 'hello': {
      if (client.nick) return error(client, 'bad_request', 'Already greeted.', ref);
      const nick = typeof request.nick === 'string' ? request.nick.trim() : '';
      if (!nickPattern.test(nick)) return error(client, 'nick_invalid', 'Bad nickname.', ref);
      if (nicks.has(nick.toLowerCase())) return error(client, 'nick_taken', 'In use.', ref);
      client.nick = nick;
      nicks.set(nick.toLowerCase(), client);
      room('lobby');
      const list = [];
      for (const [name, r] of rooms) {
        list.push({ name, members: r.members.size + (name === 'lobby' ? 1 : 0), topic: '' });
      }
      const welcome = {
        type: 'welcome',
        nick,
        server: { name: 'node-ws peer', version: '1' },
        motd: '',
        limits: { textLength: 2000, nickLength: 24, messagesPerSecond: 0, burst: 0 },
        rooms: list,
      };
      if (ref !== undefined) welcome.ref = ref;
      send(client, welcome);
      join(client, 'lobby', undefined);
      return;
    }
    case 'join': {
      if (typeof request.room !== 'string') return error(client, 'bad_request', 'No room.', ref);
      if (!roomPattern.test(request.room)) return error(client, 'room_invalid', 'Bad room.', ref);
      join(client, request.room, ref);
      return;
    }
    case 'say': {
      if (typeof request.room !== 'string' || typeof request.text !== 'string') {
        return error(client, 'bad_request', 'Missing field.', ref);
      }
      const r = rooms.get(request.room);
      if (!r || !r.members.has(client)) return error(client, 'not_in_room', 'Join first.', ref);
      if (request.text.trim() === '' || [...request.text].length > 2000) {
        return error(client, 'text_invalid', 'Bad text.', ref);
      }
      const message = {
        type: 'message',
        id: nextId++,
        room: request.room,
        from: client.nick,
        text: request.text,
        ts: new Date().toISOString(),
      };
      r.history.push(message);
      if (r.history.length > historyLength) r.history.shift();
      broadcast(r, JSON.stringify(message));
      return;
    }
    default:
      error(client, 'bad_request', 'Unknown type.', ref);
  }
}

const server = http.createServer((request, response) => {
  response.writeHead(404);
  response.end();
});
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  const client = { ws, nick: null, rooms: new Set() };
  ws.on('message', (data, isBinary) => onMessage(client, data, isBinary));
  ws.on('close', () => leaveAll(client, 'left'));
  ws.on('error', () => {});
});

server.listen({ host, port, backlog: 1024 }, () => {
  console.log(`node-ws peer listening on ws://${host}:${port}/ws`);
});
