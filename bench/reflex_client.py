"""A browser tab as Reflex 0.10 sees it: a page load for the cookies, then Engine.IO v4 /
Socket.IO v5 over one websocket on `/_event`, sending events and reading state updates.

The frames are the ones Chromium sends for the compiled frontend (reflex_base's state.js):

    GET /_event/?token=<tab uuid>&EIO=4&transport=websocket   (Sec-WebSocket-Protocol: <reflex version>)
    <- 0{"sid": …, "pingInterval": …}                 Engine.IO open
    -> 40/_event,{"event": <hydrate_and_load>}        Socket.IO CONNECT; its auth carries the hydrate
    <- 40/_event,{"sid": …}                           connected
    <- 42/_event,["event", {"delta": …, "events": …}]  state updates (hydrate, on_load, handlers)
    -> 42/_event,["event", {"name": …, "payload": …, "router_data": {"pathname": …, "asPath": …}}]
    <- 2 / -> 3                                       Engine.IO ping / pong
    -> 41/_event,                                     disconnect

The hydrate goes without the compiled initial-state hashes and schema (both optional): the
server then sends the whole initial delta once per connection, which no measured event pays.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version

import aiohttp

NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pwapp-bench/1 (like a browser tab)"
_EVENT = f"42{NAMESPACE},"
_CONNECTED = f"40{NAMESPACE},"
_REFUSED = f"44{NAMESPACE},"
_DISCONNECTED = f"41{NAMESPACE},"


class ProtocolError(Exception):
    """The server closed, refused or said something this client does not understand."""


@dataclass
class Update:
    """One state update and when it arrived (perf_counter seconds)."""

    delta: dict
    events: list[dict]
    at: float

    def scripts(self) -> list[str]:
        """The JavaScript of every `rx.call_script` event in the update."""
        return [e.get("payload", {}).get("javascript_code", "") for e in self.events if e.get("name") == "_call_script"]


class Tab:
    """One browser tab: its own cookie jar, client IP (X-Forwarded-For) and Reflex token."""

    def __init__(self, base_url: str, forwarded_for: str, *, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.forwarded_for, self.timeout = forwarded_for, timeout
        self.token = str(uuid.uuid4())
        self.path = "/"
        self._http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies of 127.0.0.1 too
            headers={"User-Agent": USER_AGENT, "X-Forwarded-For": forwarded_for},
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self, path: str) -> list[Update]:
        """Load `path` over HTTP (keeping its cookies, as a browser does), then connect the socket
        with those cookies and hydrate; returns the hydrate's updates."""
        async with self._http.get(self.base_url + path) as page:
            if page.status != 200:
                raise ProtocolError(f"GET {path}: HTTP {page.status}")
            await page.read()
        self.path = path.rstrip("/") + "/"  # the prod build serves /auth/login/ as the page's path
        ws_url = f"{self.base_url}{NAMESPACE}/?token={self.token}&EIO=4&transport=websocket"
        self._ws = await self._http.ws_connect(
            ws_url, protocols=(version("reflex"),), origin=self.base_url, max_msg_size=0
        )
        opened = await self._ws.receive_str(timeout=self.timeout)
        if not opened.startswith("0{"):
            raise ProtocolError(f"expected the Engine.IO open packet, got {opened[:80]!r}")
        hydrate = self._event(f"{ROOT_STATE}.hydrate_and_load", {})
        await self._ws.send_str(_CONNECTED + json.dumps({"event": hydrate}))
        updates = []
        while True:
            update = await self.next_update()
            updates.append(update)
            if update.delta.get(ROOT_STATE, {}).get("is_hydrated_rx_state_") is True:
                return updates

    def _event(self, name: str, payload: dict) -> dict:
        return {"name": name, "payload": payload, "router_data": {"pathname": self.path, "asPath": self.path}}

    async def send(self, name: str, payload: dict) -> float:
        """Send one event as the page would; returns when it went (perf_counter seconds)."""
        sent = time.perf_counter()
        await self._ws.send_str(_EVENT + json.dumps(["event", self._event(name, payload)]))
        return sent

    async def next_update(self) -> Update:
        """The next state update, answering Engine.IO pings on the way."""
        while True:
            message = await self._ws.receive(timeout=self.timeout)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ProtocolError(f"websocket {message.type.name}: {message.data!r}")
            data = message.data
            if data.startswith(_EVENT):
                name, body = json.loads(data[len(_EVENT):])
                if name == "event":
                    return Update(body.get("delta") or {}, body.get("events") or [], time.perf_counter())
            elif data == "2":
                await self._ws.send_str("3")
            elif data.startswith((_REFUSED, _DISCONNECTED)) or data == "1":
                raise ProtocolError(f"server ended the connection: {data[:200]!r}")
            # 40/_event,{"sid": …} (connected) needs no answer

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            try:
                await self._ws.send_str(_DISCONNECTED)
            except (aiohttp.ClientError, ConnectionError):
                pass
            await self._ws.close()
        await self._http.close()
