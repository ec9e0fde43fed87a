"""Embedding regiment in a threaded web server: each request thread asks an agent.

Starts a `ThreadingHTTPServer` on 127.0.0.1 (a free port), sends it a few requests, and shuts
everything down. Request threads call `system.ask` directly; no event loop is needed.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from actors import ActorSystem, AgentActor, Message, handler


class Count(Message):
    word: str


class Counter(AgentActor):
    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    @handler
    def on_count(self, msg: Count) -> int:
        self.counts[msg.word] = self.counts.get(msg.word, 0) + 1
        return self.counts[msg.word]


def make_handler(system: ActorSystem) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            word = self.path.strip("/") or "nothing"
            seen = system.ask("counter", Count(word=word), timeout=2.0)
            body = json.dumps({"word": word, "seen": seen}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    with ActorSystem("web") as system:
        system.spawn(Counter, name="counter")
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(system))
        thread = threading.Thread(target=server.serve_forever, name="http")
        thread.start()
        try:
            port = server.server_address[1]
            for word in ("actors", "actors", "supervision"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{word}", timeout=5) as r:
                    print(json.loads(r.read()))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)


if __name__ == "__main__":
    main()
