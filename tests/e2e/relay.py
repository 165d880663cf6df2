"""A TCP relay between the hub and its AWS (the moto server), that a test can cut.

The hub's web server and worker talk to AWS through `AWS_ENDPOINT_URL` = the relay's
port; the relay forwards every connection to the moto server. A test can then make AWS

- unreachable (`down()`): the port is closed and open connections are cut, so botocore
  gets "connection refused" exactly as when AWS cannot be reached; `up()` listens on
  the same port again. The moto server keeps running, and its state, all along.
- slow (`hold()` / `release()`): connections are accepted but nothing is forwarded
  until released, like an AWS that takes a few seconds to answer.
"""

import socket
import threading
import time


class TcpRelay:
    def __init__(self, target_port: int, *, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.target = (host, target_port)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._listener: socket.socket | None = None
        self.port = port
        self.up()
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="relay-accept", daemon=True
        )
        self._acceptor.start()

    # --- what tests call -----------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def up(self) -> None:
        """Listen (again) on the relay's port."""
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(64)
            listener.settimeout(0.2)
            self.port = listener.getsockname()[1]
            self._listener = listener

    def down(self) -> None:
        """Close the port and cut every open connection: AWS is unreachable."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        if listener is not None:
            listener.close()
        for conn in connections:
            _close(conn)

    def hold(self) -> None:
        """Accept connections but forward nothing until `release()`: AWS is slow."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self.release()
        self.down()
        self._acceptor.join(timeout=5)

    # --- the relay itself ----------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            listener = self._listener
            if listener is None:  # down: nothing to accept until up() again
                time.sleep(0.05)
                continue
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by down()
                continue
            client.settimeout(None)
            threading.Thread(
                target=self._serve, args=(client,), daemon=True, name="relay-conn"
            ).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _close(client)
            return
        with self._lock:
            if self._listener is None:  # went down meanwhile
                _close(client)
                _close(upstream)
                return
            self._connections.update((client, upstream))
        threading.Thread(
            target=self._pump, args=(upstream, client, False), daemon=True, name="relay-down"
        ).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, sink: socket.socket, to_aws: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if to_aws:
                    # Bounded: a held request waits at most a minute, then goes through.
                    self._flowing.wait(timeout=60)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
