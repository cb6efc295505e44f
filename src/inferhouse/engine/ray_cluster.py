"""This process's connection to a Ray cluster and its Serve instance (the ray runtime's, once per process).

``address`` is what ``INFERHOUSE_RAY_ADDRESS`` says: ``auto`` (a cluster already started on this host with
``ray start``), ``ray://host:10001`` (a remote head, through Ray Client), an ``ip:port`` of a head's GCS, or
``local`` (a cluster of this machine started in this process, for one host). Serve runs without its own
HTTP proxy: the API server calls deployments through handles.

Applications are named ``<owner>-<endpoint>-<n>``, ``owner`` standing for this API server (its host and
port), so servers sharing a cluster never touch each other's replicas, and a server that restarts after a
crash removes the applications its previous run left (:func:`connect`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import socket
import threading

import ray
from ray import serve

log = logging.getLogger(__name__)

NAMESPACE = "inferhouse"

_lock = threading.Lock()
_owner: str | None = None
_numbers = itertools.count()


def connect(address: str, port: int) -> str:
    """Join the cluster at ``address`` (once per process) and start Serve on it; returns the prefix of
    this server's application names."""
    global _owner
    with _lock:
        if _owner is not None:
            return _owner
        if not ray.is_initialized():
            ray.init(
                address=address,  # "local" starts a cluster of its own even beside another one
                namespace=NAMESPACE,
                log_to_driver=False,
                include_dashboard=False if address == "local" else None,
                configure_logging=False,
            )
        serve.start(proxy_location="Disabled")
        owner = "ih" + hashlib.sha256(f"{socket.gethostname()}:{port}".encode()).hexdigest()[:8]
        _remove_left_over(owner)
        _owner = owner
        log.info("endpoint replicas run on Ray at %s", address)
        return owner


def application_name(address: str, port: int, endpoint: str) -> str:
    """A fresh application name for a deployment of ``endpoint`` by this server."""
    owner = connect(address, port)
    return f"{owner}-{endpoint}-{next(_numbers)}"


def _remove_left_over(owner: str) -> None:
    """Delete the applications a previous run of this server left (it ended without stopping them)."""
    left = [name for name in serve.status().applications if name.startswith(f"{owner}-")]
    if left:
        log.info("removing %d Ray Serve application(s) left by this server's last run", len(left))
        for name in left:
            serve.delete(name)
