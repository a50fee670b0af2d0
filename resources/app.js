// The LanChat browser client. It speaks the protocol of PROTOCOL.md over one WebSocket on the
// page's own host and port. Every name and text from the network is put on the page with
// textContent, never parsed as HTML.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const STABLE_CONNECTION_MS = 30000;
const MUTED_RECHECK_MS = 30000;
const MUTE_GRACE_MS = 3000;
const NICK_TAKEN_RETRIES = 8; // while the server still holds our old connection
const TYPING_SHOW_MS = 5000;
const TYPING_SEND_INTERVAL_MS = 3100; // a little over the server's three seconds
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const MAX_ENTRIES = 500; // per conversation, oldest dropped first
const MAX_PENDING = 200;
const ROOMS_REFRESH_MS = 20000;
const ROOM_PATTERN = /^[a-z0-9_-]{1,32}$/;
const CLOSE_KICKED = 4001;
const CLOSE_BANNED = 4003;
const CLOSE_FLOODING = 4008;

const $ = (id) => document.getElementById(id);

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className)
    node.className = className;
  if (text !== undefined)
    node.textContent = text;
  return node;
}

const nickKey = (nick) => String(nick).normalize('NFC').toLowerCase();
const sameNick = (a, b) => nickKey(a) === nickKey(b);
const roomKey = (room) => 'room:' + room;
const dmKey = (nick) => 'dm:' + nickKey(nick);
const codePoints = (text) => Array.from(text).length;
const isString = (value) => typeof value === 'string';

function hue(nick) {
  let hash = 0;
  for (const ch of nickKey(nick))
    hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

function initial(nick) {
  const first = Array.from(String(nick))[0] || '?';
  return first.toUpperCase();
}

function clockTime(ts) {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime()))
    return '';
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function fullTime(ts) {
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleString();
}

const state = {
  nick: '',
  password: '',
  serverName: 'LanChat',
  passwordRequired: false,
  limits: { textLength: 2000, nickLength: 24, messagesPerSecond: 5, burst: 10 },
  socket: null,
  welcomed: false, // the current socket's hello succeeded
  welcomedAt: 0,
  session: false, // we have been welcomed and the person wants to stay: reconnect if lost
  attempt: 0,
  reconnectTimer: 0,
  reconnectAt: 0,
  countdownTimer: 0,
  nickRetries: 0,
  loginError: '',
  end: null, // {kind, reason, until}: kicked, banned or flooding; never reconnect after it
  refSeq: 0,
  pending: new Map(), // ref -> {type, conversation}
  conversations: new Map(), // key -> conversation
  current: '',
  allRooms: [],
  mutedUntil: 0, // ms since epoch; Infinity for no end; 0 when not muted
  mutedTimer: 0,
  lastTypingSent: 0,
  typingSendTimer: 0,
  roomsTimer: 0,
  toastTimer: 0,
  typingTimer: 0,
};

// ---- Connection ----------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  return scheme + location.host + '/ws';
}

function connect() {
  clearTimeout(state.reconnectTimer);
  clearInterval(state.countdownTimer);
  state.reconnectTimer = 0;
  if (state.socket)
    return;

  let socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch (error) {
    onClosed(1006);
    return;
  }
  state.socket = socket;
  state.welcomed = false;
  if (state.session)
    setBanner('Reconnecting…', false);

  socket.addEventListener('open', () => {
    if (socket !== state.socket)
      return;
    const hello = { type: 'hello', nick: state.nick };
    if (state.password)
      hello.password = state.password;
    socket.send(JSON.stringify(hello));
  });
  socket.addEventListener('message', (event) => {
    if (socket === state.socket)
      onFrame(event.data);
  });
  socket.addEventListener('close', (event) => {
    if (socket !== state.socket)
      return;
    state.socket = null;
    onClosed(event.code);
  });
}

function disconnect() {
  const socket = state.socket;
  state.socket = null;
  if (socket)
    socket.close(1000);
}

// extra is kept with the request until its answer comes, for an error to act on.
function send(request, conversation, extra = {}) {
  const socket = state.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN || !state.welcomed)
    return false;
  const ref = String(++state.refSeq);
  state.pending.set(ref, { ...extra, type: request.type, conversation });
  if (state.pending.size > MAX_PENDING)
    state.pending.delete(state.pending.keys().next().value);
  socket.send(JSON.stringify({ ...request, ref }));
  return true;
}

function onClosed(code) {
  const wasWelcomed = state.welcomed;
  state.welcomed = false;
  clearInterval(state.roomsTimer);
  renderConnection();

  if (!state.end && code === CLOSE_KICKED)
    state.end = { kind: 'kicked', reason: '' };
  else if (!state.end && code === CLOSE_BANNED)
    state.end = { kind: 'banned', reason: '' };
  else if (!state.end && code === CLOSE_FLOODING)
    state.end = { kind: 'flooding', reason: '' };

  if (state.end) {
    state.session = false;
    showEnded(state.end);
    return;
  }
  if (state.loginError) {
    const message = state.loginError;
    state.loginError = '';
    state.session = false;
    showLogin(message);
    return;
  }
  if (!state.session) {
    showLogin(code === 1013 ? 'The server is full. Try again in a while.'
                            : 'Could not reach the server. Is it still running?');
    return;
  }
  // A connection that held for a while starts the backoff afresh; one that keeps dropping soon
  // after its welcome keeps backing off.
  if (wasWelcomed && Date.now() - state.welcomedAt > STABLE_CONNECTION_MS)
    state.attempt = 0;
  scheduleReconnect();
}

function scheduleReconnect() {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
  const delay = Math.round(base * (0.8 + Math.random() * 0.4));
  state.attempt = Math.min(state.attempt + 1, 16);
  state.reconnectAt = Date.now() + delay;
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = setTimeout(connect, delay);

  const tick = () => {
    const seconds = Math.max(0, Math.ceil((state.reconnectAt - Date.now()) / 1000));
    setBanner(`Connection lost. Reconnecting in ${seconds} s…`, true);
  };
  tick();
  clearInterval(state.countdownTimer);
  state.countdownTimer = setInterval(tick, 1000);
}

function reconnectNow() {
  if (state.session && !state.socket)
    connect();
}

// ---- Incoming frames -----------------------------------------------------------------------

function onFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch (error) {
    return;
  }
  if (!frame || typeof frame !== 'object' || !isString(frame.type))
    return;
  if (isString(frame.ref))
    frame.request = takePending(frame.ref);

  const handler = handlers[frame.type];
  if (handler)
    handler(frame);
}

function takePending(ref) {
  const request = state.pending.get(ref);
  state.pending.delete(ref);
  return request;
}

const handlers = {
  welcome(frame) {
    const resumed = state.session;
    state.welcomed = true;
    state.welcomedAt = Date.now();
    state.session = true;
    state.nickRetries = 0;
    state.nick = isString(frame.nick) ? frame.nick : state.nick;
    if (frame.server && isString(frame.server.name))
      state.serverName = frame.server.name;
    if (frame.limits && typeof frame.limits === 'object')
      state.limits = { ...state.limits, ...frame.limits };
    state.allRooms = Array.isArray(frame.rooms) ? frame.rooms : [];
    try {
      localStorage.setItem('lanchat.nick', state.nick);
    } catch (error) {
      // Private windows may refuse storage; the nickname is only a convenience.
    }

    clearInterval(state.countdownTimer);
    clearInterval(state.roomsTimer);
    state.roomsTimer = setInterval(() => send({ type: 'rooms' }), ROOMS_REFRESH_MS);

    if (resumed) {
      setBanner('', false);
      toast('Connected again.');
      // The server puts us back in the lobby; every other room we were in is joined again.
      for (const conversation of state.conversations.values()) {
        if (conversation.kind === 'room') {
          conversation.joined = false;
          if (conversation.name !== 'lobby')
            send({ type: 'join', room: conversation.name }, conversation.key);
        }
      }
    } else {
      state.conversations.clear();
      state.current = '';
      state.mutedUntil = 0;
      const lobby = ensureRoom('lobby');
      if (isString(frame.motd) && frame.motd.trim())
        addEntry(lobby, { kind: 'motd', text: frame.motd });
    }
    setBanner('', false);
    showChat();
  },

  joined(frame) {
    if (!isString(frame.room))
      return;
    const conversation = ensureRoom(frame.room);
    conversation.joined = true;
    conversation.topic = isString(frame.topic) ? frame.topic : '';
    conversation.members = Array.isArray(frame.members) ? frame.members.filter(isString) : [];
    const history = Array.isArray(frame.history) ? frame.history : [];
    for (const message of history) {
      if (message && isString(message.from) && isString(message.text))
        addMessage(conversation, message, false);
    }
    // A join the person asked for opens the room; a join made again after a reconnect does not.
    const asked = frame.request && frame.request.type === 'join' && !frame.request.conversation;
    if (asked)
      select(conversation.key);
    else if (!state.current)
      select(conversation.key);
    else
      renderChrome();
    send({ type: 'rooms' });
  },

  left(frame) {
    if (!isString(frame.room))
      return;
    const key = roomKey(frame.room);
    state.conversations.delete(key);
    if (state.current === key)
      state.current = firstConversationKey();
    send({ type: 'rooms' });
    render();
  },

  rooms(frame) {
    if (Array.isArray(frame.rooms))
      state.allRooms = frame.rooms;
    renderSidebar();
  },

  who(frame) {
    const conversation = state.conversations.get(roomKey(frame.room));
    if (conversation && Array.isArray(frame.members)) {
      conversation.members = frame.members.filter(isString);
      renderChrome();
    }
  },

  presence(frame) {
    if (!isString(frame.room) || !isString(frame.nick))
      return;
    const conversation = state.conversations.get(roomKey(frame.room));
    if (!conversation)
      return;
    const nick = frame.nick;
    const reason = isString(frame.reason) && frame.reason ? frame.reason : '';
    const withReason = (text) => (reason ? `${text}: ${reason}` : text);
    const removeMember = () => {
      conversation.members = conversation.members.filter((m) => !sameNick(m, nick));
      conversation.typing.delete(nickKey(nick));
    };

    switch (frame.event) {
    case 'joined':
      if (!conversation.members.some((m) => sameNick(m, nick)))
        conversation.members.push(nick);
      addEntry(conversation, { kind: 'event', text: `${nick} joined` });
      break;
    case 'left':
      removeMember();
      addEntry(conversation, { kind: 'event', text: `${nick} left` });
      break;
    case 'kicked':
      removeMember();
      addEntry(conversation, {
        kind: 'event', text: withReason(`${nick} was removed by the host`),
      });
      break;
    case 'banned':
      removeMember();
      addEntry(conversation, { kind: 'event', text: withReason(`${nick} was banned by the host`) });
      break;
    case 'timeout':
      removeMember();
      addEntry(conversation, { kind: 'event', text: `${nick} lost the connection` });
      break;
    case 'renamed':
      if (isString(frame.old)) {
        conversation.members = conversation.members.map((m) => (sameNick(m, frame.old) ? nick : m));
        conversation.typing.delete(nickKey(frame.old));
        addEntry(conversation, { kind: 'event', text: `${frame.old} is now ${nick}` });
        renameUser(frame.old, nick);
      }
      break;
    default:
      return;
    }
    renderChrome();
  },

  message(frame) {
    if (!isString(frame.room) || !isString(frame.from) || !isString(frame.text))
      return;
    const conversation = state.conversations.get(roomKey(frame.room));
    if (!conversation)
      return;
    conversation.typing.delete(nickKey(frame.from));
    addMessage(conversation, frame, true);
    renderTyping();
  },

  dm(frame) {
    if (!isString(frame.from) || !isString(frame.to) || !isString(frame.text))
      return;
    const other = sameNick(frame.from, state.nick) ? frame.to : frame.from;
    const conversation = ensureDm(other);
    addMessage(conversation, frame, true);
  },

  typing(frame) {
    if (!isString(frame.room) || !isString(frame.nick) || sameNick(frame.nick, state.nick))
      return;
    const conversation = state.conversations.get(roomKey(frame.room));
    if (!conversation)
      return;
    const until = Date.now() + TYPING_SHOW_MS;
    conversation.typing.set(nickKey(frame.nick), { nick: frame.nick, until });
    renderTyping();
    renderMembers();
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(expireTyping, TYPING_SHOW_MS + 100);
  },

  notice(frame) {
    if (!isString(frame.text))
      return;
    const entry = { kind: 'notice', text: frame.text, ts: frame.ts };
    if (isString(frame.room)) {
      const conversation = state.conversations.get(roomKey(frame.room));
      if (conversation)
        addEntry(conversation, entry);
    } else {
      for (const conversation of state.conversations.values())
        addEntry(conversation, { ...entry });
      if (!state.conversations.size)
        toast(frame.text);
    }
    renderChrome();
  },

  topic(frame) {
    if (!isString(frame.room) || !isString(frame.topic))
      return;
    const conversation = state.conversations.get(roomKey(frame.room));
    if (!conversation)
      return;
    conversation.topic = frame.topic;
    addEntry(conversation, {
      kind: 'event',
      text: frame.topic ? `The host set the topic: ${frame.topic}` : 'The host cleared the topic',
    });
    renderChrome();
  },

  kicked(frame) {
    state.end = { kind: 'kicked', reason: isString(frame.reason) ? frame.reason : '' };
    state.session = false;
    showEnded(state.end);
  },

  banned(frame) {
    state.end = {
      kind: 'banned',
      reason: isString(frame.reason) ? frame.reason : '',
      until: isString(frame.until) ? frame.until : '',
    };
    state.session = false;
    showEnded(state.end);
  },

  muted(frame) {
    const until = isString(frame.until) ? Date.parse(frame.until) : NaN;
    setMuted(Number.isNaN(until) ? Infinity : until);
  },

  unmuted() {
    setMuted(0);
  },

  error(frame) {
    const code = isString(frame.code) ? frame.code : 'error';
    const message = isString(frame.message) && frame.message ? frame.message : code;
    if (!state.welcomed) {
      onHelloError(code, message);
      return;
    }
    // Muted without having been told (before a reconnect, say): wait a while, then let the
    // person try again, since the mute may have run out.
    if (code === 'muted' && !state.mutedUntil)
      setMuted(Infinity, MUTED_RECHECK_MS);

    const request = frame.request;
    let conversation = request && request.conversation
      ? state.conversations.get(request.conversation) : undefined;
    if (request && request.type === 'nick') {
      showRenameError(message, request.nick);
      return;
    }
    if (request && request.type === 'join' && ['room_invalid', 'too_many_rooms'].includes(code)) {
      showNewRoomError(message);
      return;
    }
    if (request && request.type === 'dm' && code === 'no_such_user' && isString(request.draft))
      conversation = giveBackDraft(request);
    if (!conversation && request && ['say', 'dm', 'typing'].includes(request.type))
      conversation = state.conversations.get(state.current);
    if (request && request.type === 'typing')
      return; // a typing hint that was refused is not worth a line
    if (conversation) {
      addEntry(conversation, { kind: 'error', text: message });
      renderChrome();
    } else {
      toast(message);
    }
  },
};

function onHelloError(code, message) {
  switch (code) {
  case 'banned':
    state.end = { kind: 'banned', reason: message };
    break;
  case 'bad_password':
    state.loginError = state.password ? 'That password is not right.' : message;
    state.passwordRequired = true;
    state.password = '';
    break;
  case 'nick_taken':
    // After a lost connection the server may still hold the old one until it times out.
    if (state.session && ++state.nickRetries <= NICK_TAKEN_RETRIES) {
      disconnectForRetry();
      return;
    }
    state.loginError = message;
    break;
  case 'server_full':
    if (state.session)
      return; // the close that follows brings the backoff
    state.loginError = message;
    break;
  default:
    state.loginError = message;
  }
  if (code !== 'banned' && code !== 'bad_password')
    disconnect();
  if (state.socket === null && (state.loginError || state.end)) {
    // disconnect() drops the socket at once: finish here, as its close is not awaited.
    onClosed(1000);
  }
}

// A direct message to someone who is not there: the person gets back what they typed, to fix
// the name, and a conversation that /msg opened for nothing is closed again.
function giveBackDraft(request) {
  const opened = state.conversations.get(request.conversation);
  if (isString(request.back) && opened && !opened.entries.length) {
    state.conversations.delete(opened.key);
    select(request.back);
  }
  const input = $('message-input');
  if (!input.value) {
    input.value = request.draft;
    autosize();
    renderCharCount();
  }
  return state.conversations.get(state.current);
}

function disconnectForRetry() {
  const socket = state.socket;
  state.socket = null;
  if (socket)
    socket.close(1000);
  scheduleReconnect();
}

// ---- Conversations -------------------------------------------------------------------------

function newConversation(key, kind, name) {
  return {
    key, kind, name,
    topic: '',
    members: [],
    entries: [],
    seenIds: new Set(),
    lastId: 0,
    unread: 0,
    mention: false,
    joined: kind === 'room',
    typing: new Map(),
  };
}

function ensureRoom(name) {
  const key = roomKey(name);
  let conversation = state.conversations.get(key);
  if (!conversation) {
    conversation = newConversation(key, 'room', name);
    state.conversations.set(key, conversation);
  }
  return conversation;
}

function ensureDm(nick) {
  const key = dmKey(nick);
  let conversation = state.conversations.get(key);
  if (!conversation) {
    conversation = newConversation(key, 'dm', nick);
    state.conversations.set(key, conversation);
  }
  return conversation;
}

function renameUser(oldNick, newNick) {
  if (sameNick(oldNick, state.nick) || sameNick(newNick, state.nick)) {
    if (sameNick(oldNick, state.nick))
      state.nick = newNick;
    try {
      localStorage.setItem('lanchat.nick', state.nick);
    } catch (error) {
      // Storage is only a convenience.
    }
    return;
  }
  const oldKey = dmKey(oldNick);
  const conversation = state.conversations.get(oldKey);
  if (!conversation)
    return;
  if (oldKey === dmKey(newNick)) { // only the letters' case changed
    conversation.name = newNick;
    return;
  }
  if (state.conversations.has(dmKey(newNick)))
    return;
  state.conversations.delete(oldKey);
  conversation.key = dmKey(newNick);
  conversation.name = newNick;
  state.conversations.set(conversation.key, conversation);
  if (state.current === oldKey)
    state.current = conversation.key;
}

function firstConversationKey() {
  if (state.conversations.has(roomKey('lobby')))
    return roomKey('lobby');
  const first = state.conversations.keys().next();
  return first.done ? '' : first.value;
}

function addMessage(conversation, message, live) {
  const id = Number(message.id);
  if (Number.isFinite(id) && id > 0) {
    // History after a reconnect repeats what we have; keep only what is new.
    if (conversation.seenIds.has(id) || (!live && id <= conversation.lastId))
      return;
    conversation.seenIds.add(id);
    conversation.lastId = Math.max(conversation.lastId, id);
  }
  const mine = sameNick(message.from, state.nick);
  const mentions = !mine && state.nick && nickKey(message.text).includes(nickKey(state.nick));
  addEntry(conversation, {
    kind: 'message',
    id,
    from: message.from,
    text: message.text,
    ts: message.ts,
    mine,
    mentions,
  }, live);
}

function addEntry(conversation, entry, live = true) {
  conversation.entries.push(entry);
  if (conversation.entries.length > MAX_ENTRIES) {
    const dropped = conversation.entries.splice(0, conversation.entries.length - MAX_ENTRIES);
    for (const old of dropped)
      conversation.seenIds.delete(old.id);
  }

  const visible = conversation.key === state.current && !document.hidden;
  if (live && entry.kind === 'message' && !entry.mine && !visible) {
    conversation.unread++;
    if (entry.mentions || conversation.kind === 'dm')
      conversation.mention = true;
  }
  if (conversation.key === state.current)
    appendEntryNode(entry, conversation.entries[conversation.entries.length - 2]);
  renderSidebar();
  updateTitle();
}

function select(key) {
  if (!state.conversations.has(key))
    key = firstConversationKey();
  state.current = key;
  const conversation = state.conversations.get(key);
  if (conversation) {
    conversation.unread = 0;
    conversation.mention = false;
  }
  document.body.classList.remove('show-sidebar', 'show-members');
  render();
  scrollToEnd();
  if (window.matchMedia('(min-width: 701px)').matches)
    $('message-input').focus({ preventScroll: true });
}

function expireTyping() {
  const now = Date.now();
  let next = Infinity;
  for (const conversation of state.conversations.values()) {
    for (const [key, typing] of conversation.typing) {
      if (typing.until <= now)
        conversation.typing.delete(key);
      else
        next = Math.min(next, typing.until);
    }
  }
  renderTyping();
  renderMembers();
  if (next !== Infinity)
    state.typingTimer = setTimeout(expireTyping, next - now + 100);
}

function setMuted(until, recheckMs = 0) {
  clearTimeout(state.mutedTimer);
  state.mutedUntil = until;
  if (recheckMs) {
    state.mutedTimer = setTimeout(() => setMuted(0), recheckMs);
  } else if (until && until !== Infinity) {
    // The server says "unmuted" when the time is up; this is only in case that never comes.
    const wait = until - Date.now() + MUTE_GRACE_MS;
    if (wait <= 0)
      state.mutedUntil = 0;
    else
      state.mutedTimer = setTimeout(() => setMuted(0), Math.min(wait, 2 ** 31 - 1));
  }
  renderComposer();
}

// ---- Outgoing ------------------------------------------------------------------------------

function submitMessage() {
  const input = $('message-input');
  let text = input.value;
  if (!text.trim())
    return;
  if (text.startsWith('//'))
    text = text.slice(1);
  else if (text.startsWith('/') && runCommand(text))
    return;

  const conversation = state.conversations.get(state.current);
  if (!conversation)
    return;
  if (codePoints(text) > state.limits.textLength) {
    toast(`A message can hold at most ${state.limits.textLength} characters.`);
    return;
  }
  const request = conversation.kind === 'room'
    ? { type: 'say', room: conversation.name, text }
    : { type: 'dm', to: conversation.name, text };
  const extra = conversation.kind === 'dm' ? { draft: input.value } : {};
  if (!send(request, conversation.key, extra)) {
    toast('Not connected: the message was not sent.');
    return;
  }
  input.value = '';
  autosize();
  renderCharCount();
}

// Returns true when the text was a command (handled or explained), false to send it as text.
function runCommand(text) {
  const [command, ...rest] = text.slice(1).split(/\s+/);
  const argument = rest.join(' ').trim();
  const input = $('message-input');
  const done = () => {
    input.value = '';
    autosize();
    return true;
  };
  switch (command.toLowerCase()) {
  case 'join':
    if (argument)
      joinRoom(argument);
    return done();
  case 'leave': {
    const conversation = state.conversations.get(state.current);
    if (conversation)
      leaveConversation(conversation);
    return done();
  }
  case 'nick':
    if (argument)
      send({ type: 'nick', nick: argument }, undefined, { nick: argument });
    return done();
  case 'msg': {
    const match = /^\/msg\s+(\S+)\s([\s\S]*)$/i.exec(text);
    const to = match ? match[1] : '';
    const body = match ? match[2] : '';
    if (to && body.trim()) {
      const key = dmKey(to);
      const back = state.conversations.has(key) ? undefined : state.current;
      if (!send({ type: 'dm', to, text: body }, key, { draft: text, back })) {
        toast('Not connected: the message was not sent.');
        return true;
      }
      select(ensureDm(to).key);
    }
    return done();
  }
  case 'help': {
    const conversation = state.conversations.get(state.current);
    if (conversation) {
      addEntry(conversation, {
        kind: 'event',
        text: 'Commands: /join room, /leave, /nick new-name, /msg nickname text. '
          + 'Start a message with // to send a line that begins with /.',
      });
    }
    return done();
  }
  default:
    return false;
  }
}

function joinRoom(name) {
  const room = name.trim().replace(/^#/, '').toLowerCase();
  if (!ROOM_PATTERN.test(room)) {
    showNewRoomError('Room names have 1 to 32 lower-case letters, digits, - and _.');
    return false;
  }
  if (state.conversations.has(roomKey(room))) {
    select(roomKey(room));
    return true;
  }
  send({ type: 'join', room });
  return true;
}

function leaveConversation(conversation) {
  if (conversation.kind === 'room') {
    send({ type: 'leave', room: conversation.name }, conversation.key);
    return;
  }
  state.conversations.delete(conversation.key);
  if (state.current === conversation.key)
    state.current = firstConversationKey();
  select(state.current);
}

function onInput() {
  renderCharCount();
  autosize();
  sendTyping();
}

// The server takes one typing hint every few seconds from each client; one that comes too soon
// is put off until it would be taken, and dropped if the text is gone by then.
function sendTyping() {
  const conversation = state.conversations.get(state.current);
  const text = $('message-input').value;
  if (!conversation || conversation.kind !== 'room' || !text.trim() || text.startsWith('/'))
    return;
  if (state.mutedUntil || state.typingSendTimer)
    return;
  const wait = state.lastTypingSent + TYPING_SEND_INTERVAL_MS - Date.now();
  if (wait > 0) {
    state.typingSendTimer = setTimeout(() => {
      state.typingSendTimer = 0;
      sendTyping();
    }, wait);
    return;
  }
  if (send({ type: 'typing', room: conversation.name }, conversation.key))
    state.lastTypingSent = Date.now();
}

// ---- Screens -------------------------------------------------------------------------------

function showScreen(id) {
  for (const screen of ['login', 'ended', 'chat'])
    $(screen).hidden = screen !== id;
}

function showLogin(error) {
  clearInterval(state.countdownTimer);
  clearInterval(state.roomsTimer);
  setBanner('', false);
  showScreen('login');
  $('login-title').textContent = state.serverName;
  document.title = state.serverName;
  $('password-row').hidden = !state.passwordRequired;
  const errorNode = $('login-error');
  errorNode.textContent = error || '';
  errorNode.hidden = !error;
  $('login-button').disabled = false;
  $('login-button').textContent = 'Join the chat';
  if (!$('nick-input').value)
    $('nick-input').value = state.nick;
  if (error && state.passwordRequired && /password/i.test(error))
    $('password-input').focus();
  else
    $('nick-input').focus();
}

function showEnded(end) {
  clearTimeout(state.reconnectTimer);
  clearInterval(state.countdownTimer);
  clearInterval(state.roomsTimer);
  showScreen('ended');
  const titles = {
    kicked: 'You were removed from the chat',
    banned: 'You are banned from this chat',
    flooding: 'You were disconnected for sending too much',
  };
  const messages = {
    kicked: 'The host removed you. You can join again when you are ready.',
    banned: 'The host has banned you, so you cannot join again for now.',
    flooding: 'Too many messages arrived too quickly. Wait a moment before joining again.',
  };
  $('ended-title').textContent = titles[end.kind] || 'You left the chat';
  $('ended-message').textContent = messages[end.kind] || '';
  const reason = $('ended-reason');
  reason.textContent = end.reason ? end.reason : '';
  reason.hidden = !end.reason;
  const until = $('ended-until');
  if (end.kind === 'banned') {
    until.textContent = end.until ? `The ban ends ${fullTime(end.until)}.` : 'The ban has no end.';
    until.hidden = false;
  } else {
    until.hidden = true;
  }
  document.body.dataset.ended = end.kind;
  document.title = `${state.serverName}: disconnected`;
}

function showChat() {
  showScreen('chat');
  delete document.body.dataset.ended;
  if (!state.current || !state.conversations.has(state.current))
    state.current = firstConversationKey();
  render();
  scrollToEnd();
}

function setBanner(text, withButton) {
  const banner = $('banner');
  banner.hidden = !text;
  $('banner-text').textContent = text;
  $('banner-button').hidden = !withButton;
  renderConnection();
  renderComposer();
}

function toast(text) {
  const node = $('toast');
  node.textContent = text;
  node.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 4000);
}

function showNewRoomError(message) {
  $('new-room-form').hidden = false;
  $('new-room-error').textContent = message;
  $('new-room-error').hidden = false;
  document.body.classList.add('show-sidebar');
}

// The toast says why; the form holds the refused name to be corrected.
function showRenameError(message, nick) {
  $('rename-form').hidden = false;
  if (isString(nick))
    $('rename-input').value = nick;
  toast(message);
}

// ---- Rendering -----------------------------------------------------------------------------

function render() {
  renderMessages();
  renderChrome();
}

// Everything but the message list, which grows one node at a time as entries arrive.
function renderChrome() {
  renderSidebar();
  renderHeader();
  renderMembers();
  renderTyping();
  renderComposer();
  renderConnection();
  updateTitle();
}

function navItem(label, prefix, { active, unread, mention, stale, detail, onClick, dataset }) {
  const item = make('li');
  const button = make('button', 'nav-item' + (active ? ' active' : '') + (unread ? ' unread' : '')
    + (stale ? ' stale' : ''));
  button.type = 'button';
  Object.assign(button.dataset, dataset);
  button.append(make('span', 'nav-prefix', prefix), make('span', 'nav-label', label));
  if (detail)
    button.append(make('span', 'nav-detail', detail));
  if (unread) {
    const count = unread > 99 ? '99+' : String(unread);
    button.append(make('span', 'badge' + (mention ? ' mention' : ''), count));
  }
  button.addEventListener('click', onClick);
  item.append(button);
  return item;
}

// The lobby first, then the rest by name.
function byName(a, b) {
  if (a.name === 'lobby' || b.name === 'lobby')
    return a.name === 'lobby' ? -1 : 1;
  return a.name.localeCompare(b.name);
}

function renderSidebar() {
  $('server-name').textContent = state.serverName;
  const rooms = [...state.conversations.values()]
    .filter((c) => c.kind === 'room')
    .sort(byName);
  const dms = [...state.conversations.values()]
    .filter((c) => c.kind === 'dm')
    .sort((a, b) => a.name.localeCompare(b.name));

  $('room-list').replaceChildren(...rooms.map((c) => navItem(c.name, '#', {
    active: c.key === state.current,
    unread: c.unread,
    mention: c.mention,
    stale: !c.joined, // joined again after a reconnect, not yet confirmed
    dataset: { room: c.name },
    onClick: () => select(c.key),
  })));

  const others = state.allRooms
    .filter((r) => r && isString(r.name) && !state.conversations.has(roomKey(r.name)))
    .sort((a, b) => a.name.localeCompare(b.name));
  $('other-rooms-title').hidden = !others.length;
  $('other-room-list').replaceChildren(...others.map((r) => navItem(r.name, '#', {
    detail: String(Number(r.members) || 0),
    dataset: { otherRoom: r.name },
    onClick: () => joinRoom(r.name),
  })));

  $('dm-list').replaceChildren(...dms.map((c) => navItem(c.name, '@', {
    active: c.key === state.current,
    unread: c.unread,
    mention: c.mention,
    dataset: { dm: c.name },
    onClick: () => select(c.key),
  })));
  $('dm-empty').hidden = dms.length > 0;

  const elsewhere = [...state.conversations.values()]
    .filter((c) => c.key !== state.current)
    .reduce((sum, c) => sum + c.unread, 0);
  $('menu-badge').textContent = elsewhere > 99 ? '99+' : String(elsewhere);
  $('menu-badge').hidden = !elsewhere;

  $('my-nick').textContent = state.nick;
  const avatar = $('my-avatar');
  avatar.textContent = initial(state.nick);
  avatar.style.setProperty('--hue', hue(state.nick));
}

function renderHeader() {
  const conversation = state.conversations.get(state.current);
  const title = $('conversation-title');
  const topic = $('conversation-topic');
  if (!conversation) {
    title.textContent = state.serverName;
    topic.textContent = '';
    topic.hidden = true;
    $('leave-button').hidden = true;
    $('members-button').hidden = true;
    return;
  }
  title.textContent = (conversation.kind === 'room' ? '#' : '@') + conversation.name;
  topic.textContent = conversation.kind === 'room'
    ? conversation.topic
    : 'Only the two of you see these messages.';
  topic.hidden = !topic.textContent;
  $('leave-button').hidden = false;
  $('leave-button').textContent = conversation.kind === 'room' ? 'Leave' : 'Close';
  $('members-button').hidden = conversation.kind !== 'room';
  $('member-count').textContent = String(conversation.members.length);
}

function renderMessages() {
  const list = $('messages');
  const conversation = state.conversations.get(state.current);
  const stick = isNearEnd();
  const top = list.scrollTop;
  list.replaceChildren();
  delete list.dataset.day;
  $('empty-state').hidden = Boolean(conversation);
  if (!conversation)
    return;
  let previous;
  for (const entry of conversation.entries) {
    appendEntryNode(entry, previous, false);
    previous = entry;
  }
  if (!conversation.entries.length) {
    const hint = conversation.kind === 'room'
      ? `This is the start of #${conversation.name}.`
      : `This is the start of your conversation with ${conversation.name}.`;
    list.append(make('li', 'event start', hint));
  }
  if (stick)
    scrollToEnd();
  else
    list.scrollTop = top;
}

function appendEntryNode(entry, previous, follow = true) {
  const list = $('messages');
  const stick = follow && isNearEnd();
  const newDay = startsDay(list, entry.ts);
  let node;

  switch (entry.kind) {
  case 'message': {
    const continues = !newDay && previous && previous.kind === 'message'
      && sameNick(previous.from, entry.from)
      && Date.parse(entry.ts) - Date.parse(previous.ts) < GROUP_WINDOW_MS;
    node = make('li', 'message' + (continues ? ' continued' : '') + (entry.mine ? ' mine' : '')
      + (entry.mentions ? ' mentions' : ''));
    if (entry.id)
      node.dataset.id = String(entry.id);
    node.dataset.from = entry.from;
    const avatar = make('span', 'avatar', continues ? '' : initial(entry.from));
    avatar.setAttribute('aria-hidden', 'true');
    avatar.style.setProperty('--hue', hue(entry.from));
    const body = make('div', 'message-body');
    if (!continues) {
      const meta = make('div', 'meta');
      const from = make('button', 'from', entry.from);
      from.type = 'button';
      from.style.setProperty('--hue', hue(entry.from));
      from.addEventListener('click', () => openDm(entry.from));
      const time = make('time', 'time', clockTime(entry.ts));
      time.dateTime = entry.ts || '';
      time.title = fullTime(entry.ts);
      meta.append(from, time);
      body.append(meta);
    }
    const text = make('div', 'text', entry.text);
    text.title = fullTime(entry.ts);
    body.append(text);
    node.append(avatar, body);
    break;
  }
  case 'notice': {
    node = make('li', 'notice');
    node.append(make('span', 'notice-label', 'Host'), make('span', 'text', entry.text));
    if (entry.ts)
      node.append(make('time', 'time', clockTime(entry.ts)));
    break;
  }
  case 'motd':
    node = make('li', 'motd');
    node.append(make('span', 'notice-label', 'Welcome'), make('span', 'text', entry.text));
    break;
  case 'error':
    node = make('li', 'error-line', entry.text);
    break;
  default:
    node = make('li', 'event', entry.text);
  }

  const start = list.querySelector('.start');
  if (start)
    start.remove();
  if (newDay)
    list.append(make('li', 'day', dayLabel(entry.ts)));
  list.append(node);
  if (stick)
    scrollToEnd();
}

// True when ts falls on another day than the list's last dated entry, or, for the first one,
// on a day before today; the list remembers the day it has reached.
function startsDay(list, ts) {
  const date = new Date(ts);
  if (!ts || Number.isNaN(date.getTime()))
    return false;
  const day = date.toDateString();
  const last = list.dataset.day;
  list.dataset.day = day;
  return last ? last !== day : day !== new Date().toDateString();
}

function dayLabel(ts) {
  const date = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString())
    return 'Today';
  if (date.toDateString() === yesterday.toDateString())
    return 'Yesterday';
  return date.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

function isNearEnd() {
  const list = $('messages');
  return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
}

function scrollToEnd() {
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const conversation = state.conversations.get(state.current);
  const list = $('member-list');
  if (!conversation || conversation.kind !== 'room') {
    list.replaceChildren();
    return;
  }
  const members = [...conversation.members].sort((a, b) => a.localeCompare(b));
  list.replaceChildren(...members.map((nick) => {
    const me = sameNick(nick, state.nick);
    const typing = conversation.typing.has(nickKey(nick));
    const item = make('li', 'member' + (me ? ' me' : '') + (typing ? ' typing' : ''));
    item.dataset.nick = nick;
    const button = make('button', 'member-button');
    button.type = 'button';
    button.disabled = me;
    // The name may be cut short to fit; the tooltip has it whole.
    button.title = me ? `${nick} (you)` : `Write to ${nick}`;
    const avatar = make('span', 'avatar', initial(nick));
    avatar.setAttribute('aria-hidden', 'true');
    avatar.style.setProperty('--hue', hue(nick));
    button.append(avatar, make('span', 'member-name', nick));
    if (me)
      button.append(make('span', 'member-note', 'you'));
    else if (typing)
      button.append(make('span', 'member-note typing-dots', 'typing'));
    button.addEventListener('click', () => openDm(nick));
    item.append(button);
    return item;
  }));
  $('member-count').textContent = String(members.length);
}

function openDm(nick) {
  if (sameNick(nick, state.nick))
    return;
  select(ensureDm(nick).key);
}

function renderTyping() {
  const conversation = state.conversations.get(state.current);
  const node = $('typing');
  const now = Date.now();
  const names = conversation
    ? [...conversation.typing.values()].filter((t) => t.until > now).map((t) => t.nick)
    : [];
  let text = '';
  if (names.length === 1)
    text = `${names[0]} is typing…`;
  else if (names.length === 2)
    text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2)
    text = 'Several people are typing…';
  node.textContent = text;
  node.classList.toggle('active', Boolean(text));
}

function renderComposer() {
  const conversation = state.conversations.get(state.current);
  const input = $('message-input');
  const connected = state.welcomed;
  const muted = Boolean(state.mutedUntil);
  input.disabled = !conversation || !connected || muted;
  $('send-button').disabled = input.disabled;
  if (muted) {
    input.placeholder = state.mutedUntil === Infinity
      ? 'The host has muted you.'
      : `The host has muted you until ${clockTime(state.mutedUntil)}.`;
  } else if (!connected) {
    input.placeholder = 'Waiting for the connection…';
  } else if (conversation) {
    input.placeholder = conversation.kind === 'room'
      ? `Message #${conversation.name}` : `Message ${conversation.name}`;
  } else {
    input.placeholder = '';
  }
  $('composer').classList.toggle('muted-state', muted);
}

function renderCharCount() {
  const length = codePoints($('message-input').value);
  const limit = state.limits.textLength;
  const node = $('char-count');
  node.hidden = length < limit * 0.8;
  node.textContent = String(limit - length);
  node.classList.toggle('over', length > limit);
}

function renderConnection() {
  const node = $('connection-state');
  node.textContent = state.welcomed ? 'online' : 'offline';
  node.classList.toggle('offline', !state.welcomed);
}

function updateTitle() {
  let unread = 0;
  for (const conversation of state.conversations.values())
    unread += conversation.unread;
  const conversation = state.conversations.get(state.current);
  const where = conversation ? (conversation.kind === 'room' ? '#' : '@') + conversation.name : '';
  const base = where ? `${where} · ${state.serverName}` : state.serverName;
  if (!$('chat').hidden)
    document.title = unread ? `(${unread}) ${base}` : base;
}

function autosize() {
  const input = $('message-input');
  input.style.height = 'auto';
  input.style.height = Math.min(input.scrollHeight, 160) + 'px';
}

// ---- Wiring --------------------------------------------------------------------------------

function startSession(event) {
  event.preventDefault();
  const nick = $('nick-input').value.trim();
  if (!nick) {
    showLogin('Choose a nickname first.');
    return;
  }
  state.nick = nick;
  state.password = $('password-input').value;
  state.end = null;
  state.loginError = '';
  state.session = false;
  state.attempt = 0;
  $('login-error').hidden = true;
  $('login-button').disabled = true;
  $('login-button').textContent = 'Joining…';
  disconnect();
  connect();
}

function wire() {
  $('login-form').addEventListener('submit', startSession);
  $('ended-button').addEventListener('click', () => {
    state.end = null;
    delete document.body.dataset.ended;
    showLogin('');
  });

  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    submitMessage();
  });
  const input = $('message-input');
  input.addEventListener('input', onInput);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitMessage();
    }
  });

  $('new-room-button').addEventListener('click', () => {
    const form = $('new-room-form');
    form.hidden = !form.hidden;
    $('new-room-error').hidden = true;
    if (!form.hidden)
      $('new-room-input').focus();
  });
  $('new-room-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (joinRoom($('new-room-input').value)) {
      $('new-room-input').value = '';
      $('new-room-form').hidden = true;
      $('new-room-error').hidden = true;
    }
  });

  $('rename-button').addEventListener('click', () => {
    const form = $('rename-form');
    form.hidden = !form.hidden;
    $('rename-input').value = state.nick;
    if (!form.hidden)
      $('rename-input').select();
  });
  $('rename-cancel').addEventListener('click', () => {
    $('rename-form').hidden = true;
  });
  $('rename-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const nick = $('rename-input').value.trim();
    if (nick && nick !== state.nick)
      send({ type: 'nick', nick }, undefined, { nick });
    $('rename-form').hidden = true;
  });

  $('leave-button').addEventListener('click', () => {
    const conversation = state.conversations.get(state.current);
    if (conversation)
      leaveConversation(conversation);
  });
  $('menu-button').addEventListener('click', () => {
    if (document.body.classList.toggle('show-sidebar'))
      send({ type: 'rooms' });
    document.body.classList.remove('show-members');
  });
  const closeDrawers = () => document.body.classList.remove('show-sidebar', 'show-members');
  $('sidebar-close').addEventListener('click', closeDrawers);
  $('members-button').addEventListener('click', () => {
    document.body.classList.toggle('show-members');
    document.body.classList.remove('show-sidebar');
  });
  $('members-close').addEventListener('click', closeDrawers);
  $('scrim').addEventListener('click', closeDrawers);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape')
      closeDrawers();
  });
  $('banner-button').addEventListener('click', reconnectNow);

  window.addEventListener('online', reconnectNow);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden)
      return;
    const conversation = state.conversations.get(state.current);
    if (conversation) {
      conversation.unread = 0;
      conversation.mention = false;
    }
    renderSidebar();
    updateTitle();
    if (state.session && !state.socket && state.reconnectTimer)
      reconnectNow();
  });
}

async function loadStatus() {
  try {
    const response = await fetch('/api/status', { cache: 'no-store' });
    if (!response.ok)
      return;
    const status = await response.json();
    if (isString(status.name) && status.name)
      state.serverName = status.name;
    state.passwordRequired = status.passwordRequired === true;
  } catch (error) {
    // The login works without it; the welcome brings the server's name too.
  }
  if (!$('login').hidden) {
    $('login-title').textContent = state.serverName;
    document.title = state.serverName;
    $('password-row').hidden = !state.passwordRequired;
  }
}

wire();
try {
  $('nick-input').value = localStorage.getItem('lanchat.nick') || '';
} catch (error) {
  // No storage: start with an empty field.
}
showLogin('');
loadStatus();
