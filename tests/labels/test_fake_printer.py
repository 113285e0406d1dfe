"""The stand-in printer keeps listening for as long as a test runs: a browser test may reach its print button
well after the printer was started (a slow machine, a long form before it)."""

import socket
import time

from tests.labels.printer import FakePrinter


def test_a_job_sent_after_several_idle_accept_timeouts_is_received():
    printer = FakePrinter(accept_timeout=0.05)
    try:
        time.sleep(0.3)  # six accept timeouts with nobody connecting
        with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as connection:
            connection.sendall(b"^XA^FDlabel^FS^XZ")
            connection.shutdown(socket.SHUT_WR)
        assert printer.wait_for_jobs(1) == [b"^XA^FDlabel^FS^XZ"]
    finally:
        printer.close()
