"""Serve carbonhub with uvicorn worker processes, each on its own SO_REUSEPORT listener.

Two problems with ``uvicorn --workers N`` under a benchmark's load:

* It binds its listener with ``proto`` 0, so asyncio does not set TCP_NODELAY on accepted
  connections and every keep-alive request after the first waits ~40 ms for a delayed ACK
  (Kludex/uvicorn#3149, open at the time of writing).
* All workers accept from one shared socket, and asyncio accepts up to its backlog of waiting
  connections per wake-up: when a load generator opens its keep-alive connections at once, one
  worker takes most of them and keeps them (seen: 77% against 27% CPU between two workers).

Here every worker gets its own listener (``IPPROTO_TCP``, ``SO_REUSEPORT``), so the kernel
spreads new connections evenly over the workers, as a load balancer in front of replicas does.

Run: ``python -m bench.workers --port 8000 --workers 2`` (settings from ``CARBONHUB_*``).
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process


def listener(host: str, port: int) -> socket.socket:
    """A TCP listener sharing its port with the other workers' (kernel load balancing)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class BalancedWorkers(Multiprocess):
    """uvicorn's supervisor, starting each worker on a listener of its own."""

    def __init__(self, config: uvicorn.Config, listeners: list[socket.socket]) -> None:
        super().__init__(config, sockets=listeners[:1])
        self.listeners = listeners

    def init_processes(self) -> None:
        for sock in self.listeners:
            process = Process(self.config, [sock])
            process.start()
            self.processes.append(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "carbonhub.app:served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        # longer than a client's pause between requests, as behind a proxy's upstream keep-alive:
        # uvicorn's 5 s default closes connections a thinking client is about to reuse
        timeout_keep_alive=75,
    )
    listeners = [listener(args.host, args.port) for _ in range(args.workers)]
    BalancedWorkers(config, listeners).run()


if __name__ == "__main__":
    main()
