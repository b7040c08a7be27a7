"""A TCP proxy on loopback that a test can cut, for database outages: while cut, every
connection through it is dropped and every new one is closed as soon as it is taken. It can
also refuse the HTTP requests for one path (a websocket stream) and pass every other."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.dropped = 0  # connections dropped or refused while cut
        self.refused_paths: set[bytes] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and take no new one until `restore`."""
        self._cut.set()
        with self._lock:
            self.dropped += len(self._open) // 2
            for sock in self._open:
                _shut(sock)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        _shut(self._listener)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                self.dropped += 1
                _shut(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def refuse(self, path: bytes) -> None:
        """Close every connection, open or new, whose first request is for `path`."""
        self.refused_paths.add(path)
        self.cut()
        self.restore()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        first = True
        try:
            while data := source.recv(65536):
                request = data.split(b"\r\n", 1)[0] if first else b""
                first = False
                if any(path in request for path in self.refused_paths):
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.difference_update((source, sink))
            _shut(source)
            _shut(sink)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def tcp_proxy(host: str, port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()
