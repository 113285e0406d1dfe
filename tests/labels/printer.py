"""A real TCP listener standing in for a label printer on localhost: it accepts connections on a free port of
the raw printing range (9100–9109, the only ports a label template accepts) and keeps every byte each
connection sent."""

import socket
import threading

PRINTER_PORTS = range(9100, 9110)


def _bound() -> socket.socket:
    for port in PRINTER_PORTS:
        try:
            return socket.create_server(("127.0.0.1", port))
        except OSError:
            continue
    raise RuntimeError("no free port from 9100 to 9109 on 127.0.0.1")


class FakePrinter:
    def __init__(self, accept_timeout: float = 5.0):
        self.server = _bound()
        # accept() wakes up this often to see whether the printer was closed.
        self.server.settimeout(accept_timeout)
        self.port = self.server.getsockname()[1]
        self.jobs: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stop = False
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue  # nobody printed yet: keep listening (it used to stop here, and later jobs were lost)
            except OSError:
                return  # closed
            with connection:
                chunks = []
                while chunk := connection.recv(65536):
                    chunks.append(chunk)
                self.jobs.append(b"".join(chunks))

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[bytes]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.jobs) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.jobs

    def close(self):
        self._stop = True
        self.server.close()


def closed_port() -> int:
    """A local printing port nobody listens on (bound, then released)."""
    with _bound() as probe:
        return probe.getsockname()[1]
