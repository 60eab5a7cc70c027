"""A loopback TCP proxy in front of the S3 server: counts what the server sent, injects faults.

Counting at the wire gives "bytes fetched" as measured on the server's side,
headers included. Faults that a healthy SeaweedFS never produces (a 503, a
connection reset in the middle of a body) are injected per connection.
"""

from __future__ import annotations

import socket
import struct
import threading

_ERROR_BODY = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>'


class CountingProxy:
    """Forwards 127.0.0.1:<port> to *upstream*; `sent` is bytes from upstream to clients.

    Bytes are counted before they are passed on, so a client that has read a
    response never sees a count that lacks it.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sent = 0
        self.connections = 0
        self.faults = 0
        self._lock = threading.Lock()
        self._fail = 0
        self._cut = 0
        self._cut_after = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def fail_next(self, connections: int) -> None:
        """Answer the next *connections* requests with 503 SlowDown."""
        with self._lock:
            self._fail = connections

    def cut_next(self, connections: int, after: int) -> None:
        """Reset the next *connections* connections after *after* response bytes."""
        with self._lock:
            self._cut, self._cut_after = connections, after

    def reset_counts(self) -> None:
        with self._lock:
            self.sent = self.connections = self.faults = 0

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                fail, cut = self._fail > 0, self._cut > 0
                self._fail -= fail
                self._cut -= cut
                self.faults += fail or cut
                limit = self._cut_after if cut else None
            target = self._refuse if fail else self._forward
            threading.Thread(target=target, args=(client, limit), daemon=True).start()

    def _refuse(self, client: socket.socket, _limit: None) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                data = client.recv(65536)
                if not data:
                    return
                request += data
            head = (
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(_ERROR_BODY)}\r\nConnection: close\r\n\r\n"
            ).encode()
            self._count(len(head) + len(_ERROR_BODY))
            client.sendall(head + _ERROR_BODY)

    def _forward(self, client: socket.socket, limit: int | None) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=self._pump_requests, args=(client, upstream), daemon=True).start()
        forwarded = 0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if limit is not None and forwarded + len(data) >= limit:
                    data = data[: limit - forwarded]
                    self._count(len(data))
                    client.sendall(data)
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.shutdown(socket.SHUT_RD)  # wakes the request pump, so close() resets
                    break
                self._count(len(data))
                client.sendall(data)
                forwarded += len(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def _pump_requests(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            try:
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _count(self, received: int) -> None:
        with self._lock:
            self.sent += received
