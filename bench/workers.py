"""Serve carbonhub with uvicorn worker processes on a listener that keeps TCP_NODELAY.

``uvicorn --workers N`` binds its listener with ``proto`` 0, so asyncio does not set
TCP_NODELAY on accepted connections and every keep-alive request after the first waits ~40 ms
for a delayed ACK (Kludex/uvicorn#3149, open at the time of writing). This does what
``uvicorn --workers`` does, on a socket created with ``IPPROTO_TCP``.

Run: ``python -m bench.workers --port 8000 --workers 2`` (settings from ``CARBONHUB_*``).
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "carbonhub.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.set_inheritable(True)
    Multiprocess(config, sockets=[listener]).run()


if __name__ == "__main__":
    main()
