"""Inside a sandbox: forwards TCP connections on 127.0.0.1 to the gateway's Unix socket.

The sandbox has no network, only its own loopback. Claude Code wants an HTTP base URL, so
this forwarder listens on the sandbox's loopback and copies bytes to and from the gateway
socket bound into the sandbox. It runs with the sandbox's Python and the standard library
only: it must never import the host package.

Usage: `python -I -S sandbox_forwarder.py --socket PATH [--port N]` (prints the port).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading

CHUNK = 64 * 1024


def listen(port: int = 0) -> socket.socket:
    """A listening TCP socket on the sandbox's loopback (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def _pump(source: socket.socket, sink: socket.socket) -> None:
    # Half-close on EOF so HTTP bodies and keep-alive both behave like a direct connection.
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, socket_path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError as exc:
        print(f"forwarder: cannot reach the gateway: {exc}", file=sys.stderr, flush=True)
        client.close()
        upstream.close()
        return
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, socket_path: str) -> None:
    """Accept connections until the listener closes; each gets its own gateway connection."""
    while True:
        try:
            client, _ = listener.accept()
        except InterruptedError:
            continue
        except OSError:
            return
        threading.Thread(target=_relay, args=(client, socket_path), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Listen, print the port on stdout, and forward until killed."""
    parser = argparse.ArgumentParser(prog="sandbox_forwarder")
    parser.add_argument("--socket", required=True, help="the gateway's Unix socket")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1")
    args = parser.parse_args(argv)
    listener = listen(args.port)
    print(listener.getsockname()[1], flush=True)
    serve(listener, args.socket)


if __name__ == "__main__":
    main()
