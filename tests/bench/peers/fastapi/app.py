"""A peer server for the benchmark: the part of the LanChat protocol the load generator uses
(hello/welcome, the automatic lobby, join/joined, say/message, presence), written the way the
usual FastAPI chat tutorial does it: a ConnectionManager that awaits one send after another.
No rate limit.

    python3 -m uvicorn app:app --host 127.0.0.1 --port 9002 --app-dir tests/bench/peers/fastapi
"""

import json
import re
from datetime import datetime, timezone

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

HISTORY_LENGTH = 50
NICK_PATTERN = re.compile(r"^[\w.-]{1,24}$")
ROOM_PATTERN = re.compile(r"^[a-z0-9_-]{1,32}$")


def encode(frame):
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def timestamp():
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Client:
    def __init__(self, websocket: WebSocket):
        self.websocket = websocket
        self.nick = None
        self.rooms = set()


class ConnectionManager:
    def __init__(self):
        self.rooms = {}  # name -> list of clients
        self.history = {}  # name -> latest messages
        self.nicks = {}  # lower-case nickname -> client
        self.next_id = 1

    async def send(self, client, frame):
        await client.websocket.send_text(encode(frame))

    async def broadcast(self, room, text, exclude=None):
        for member in list(self.rooms.get(room, [])):
            if member is not exclude:
                try:
                    await member.websocket.send_text(text)
                except Exception:
                    pass

    async def error(self, client, code, message, ref=None):
        frame = {"type": "error", "code": code, "message": message}
        if ref is not None:
            frame["ref"] = ref
        await self.send(client, frame)

    async def join(self, client, room, ref=None):
        members = self.rooms.setdefault(room, [])
        already = client in members
        if not already:
            members.append(client)
            client.rooms.add(room)
        reply = {
            "type": "joined",
            "room": room,
            "topic": "",
            "members": [m.nick for m in members],
            "history": self.history.get(room, []),
        }
        if ref is not None:
            reply["ref"] = ref
        await self.send(client, reply)
        if not already:
            presence = {"type": "presence", "room": room, "nick": client.nick, "event": "joined"}
            await self.broadcast(room, encode(presence), exclude=client)

    async def hello(self, client, request, ref):
        if client.nick is not None:
            return await self.error(client, "bad_request", "Already greeted.", ref)
        nick = request.get("nick")
        nick = nick.strip() if isinstance(nick, str) else ""
        if not NICK_PATTERN.match(nick):
            return await self.error(client, "nick_invalid", "Bad nickname.", ref)
        if nick.lower() in self.nicks:
            return await self.error(client, "nick_taken", "In use.", ref)
        client.nick = nick
        self.nicks[nick.lower()] = client
        self.rooms.setdefault("lobby", [])
        rooms = [
            {"name": name, "members": len(members) + (1 if name == "lobby" else 0), "topic": ""}
            for name, members in self.rooms.items()
        ]
        welcome = {
            "type": "welcome",
            "nick": nick,
            "server": {"name": "fastapi peer", "version": "1"},
            "motd": "",
            "limits": {"textLength": 2000, "nickLength": 24, "messagesPerSecond": 0, "burst": 0},
            "rooms": rooms,
        }
        if ref is not None:
            welcome["ref"] = ref
        await self.send(client, welcome)
        await self.join(client, "lobby")

    async def say(self, client, request, ref):
        room, text = request.get("room"), request.get("text")
        if not isinstance(room, str) or not isinstance(text, str):
            return await self.error(client, "bad_request", "Missing field.", ref)
        if client not in self.rooms.get(room, []):
            return await self.error(client, "not_in_room", "Join first.", ref)
        if not text.strip() or len(text) > 2000:
            return await self.error(client, "text_invalid", "Bad text.", ref)
        message = {
            "type": "message",
            "id": self.next_id,
            "room": room,
            "from": client.nick,
            "text": text,
            "ts": timestamp(),
        }
        self.next_id += 1
        history = self.history.setdefault(room, [])
        history.append(message)
        del history[:-HISTORY_LENGTH]
        await self.broadcast(room, encode(message))

    async def handle(self, client, data):
        try:
            request = json.loads(data)
        except ValueError:
            return await self.error(client, "bad_request", "Not JSON.")
        if not isinstance(request, dict) or not isinstance(request.get("type"), str):
            return await self.error(client, "bad_request", "Not a request.")
        ref = request.get("ref") if isinstance(request.get("ref"), str) else None
        kind = request["type"]
        if kind != "hello" and client.nick is None:
            return await self.error(client, "not_ready", "Say hello first.", ref)
        if kind == "hello":
            await self.hello(client, request, ref)
        elif kind == "join":
            room = request.get("room")
            if not isinstance(room, str):
                return await self.error(client, "bad_request", "No room.", ref)
            if not ROOM_PATTERN.match(room):
                return await self.error(client, "room_invalid", "Bad room.", ref)
            await self.join(client, room, ref)
        elif kind == "say":
            await self.say(client, request, ref)
        else:
            await self.error(client, "bad_request", "Unknown type.", ref)

    async def disconnect(self, client):
        for room in list(client.rooms):
            members = self.rooms.get(room, [])
            if client in members:
                members.remove(client)
            presence = {"type": "presence", "room": room, "nick": client.nick, "event": "left"}
            await self.broadcast(room, encode(presence))
            if not members and room != "lobby":
                self.rooms.pop(room, None)
        client.rooms.clear()
        if client.nick is not None:
            self.nicks.pop(client.nick.lower(), None)


app = FastAPI()
manager = ConnectionManager()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    client = Client(websocket)
    try:
        while True:
            data = await websocket.receive_text()
            await manager.handle(client, data)
    except WebSocketDisconnect:
        pass
    finally:
        await manager.disconnect(client)
