"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py` (app:app), tuned by env vars.

nginx in front buffers whole requests (uploads up to 2 GB) and responses, so a worker thread is
only busy while the app works, never while a slow phone trickles bytes in.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


wsgi_app = "app:app"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# One worker per CPU (WEB_CONCURRENCY sets another number). A worker is one Python process, held
# to one core by its GIL: one per core uses them all, and its threads overlap the waits on the
# database, Redis and storage. More processes than cores only take turns on them: on 2 cores, 5
# workers (gunicorn's 2 × CPUs + 1, meant for single-threaded workers) gave the signed-in quote
# list a p99 of 98–110 ms against 59–66 ms with 2, at the same rate.
workers = _int("WEB_CONCURRENCY", multiprocessing.cpu_count())
# gunicorn's threaded worker as it ships: threads overlap the waits on the database and storage.
# Two per worker: enough to overlap those waits, few enough that the threads of one process do
# not queue for its GIL. With 4, the signed-in quote list's p99 at 32 connections was 110–128 ms
# against 81–92 ms with 2, in alternating runs on the same 2 cores (benchmarks/load.py), and each
# request cost more CPU (2.6 against 2.4 ms). Each thread holds one request at a time, a large
# upload included: raise GUNICORN_THREADS or WEB_CONCURRENCY where many arrive at once.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 2)  # size DB_POOL_SIZE to this
preload_app = False  # each worker builds its own app, engine pool and Redis clients (see above)

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections
# over them. On one shared socket the worker that wakes first takes the burst: 32 keep-alive
# connections opened at once split 32/0, 31/1, 28/4 between 2 workers, so one process (one core)
# served nearly every request while the other idled. With a socket each they split 18/14 or so,
# and the signed-in pages' p99 at 32 connections fell from 142-145 ms to 73-99 ms (load.py).
# A worker that stops (recycled, or replaced on reload) closes its socket: the connections still
# queued on it are reset unless the kernel hands them to a sibling (net.ipv4.tcp_migrate_req = 1,
# Linux 5.14+, deploy/sysctl/). About 17 per restart were reset at 5,000 new connections/s
# without it, none with it. So the default follows that setting; GUNICORN_REUSE_PORT=1/0 decides.
_MIGRATE_REQ = "/proc/sys/net/ipv4/tcp_migrate_req"


def _kernel_hands_over_queued_connections() -> bool:
    try:
        with open(_MIGRATE_REQ) as setting:
            return setting.read().strip() == "1"
    except OSError:
        return False


reuse_port = bool(_int("GUNICORN_REUSE_PORT", int(_kernel_hands_over_queued_connections())))

# A 100 MB drawing is encrypted and sent to object storage while the request runs: allow 120 s.
timeout = _int("GUNICORN_TIMEOUT", 120)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers to bound slow leaks, but rarely and not together: a new worker imports and
# warms the whole site (1-3 s of CPU), and with one worker per core a restart takes a core's worth
# of capacity meanwhile. Two restarting together left none: the load test's home page showed p99
# 889 ms when both of its workers hit 50,000 ± 5,000 within 0.4 s of each other. No preloading
# either: forking a worker from a master that had imported the app (psycopg, SQLAlchemy) crashed
# workers with SIGSEGV under load (gunicorn 27, psycopg-binary 3.3, Python 3.11), so each worker
# imports the app itself.
max_requests = _int("GUNICORN_MAX_REQUESTS", 200000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100000)  # ... not all at once
# Heartbeat files in memory, not on a disk that may stall; gunicorn makes them with mkstemp
# (private files with random names), so S108/B108's predictable-name worry does not apply.
_SHM = "/dev/shm"  # noqa: S108  # nosec B108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# Only our proxy may say which scheme and client address a request came with.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips

# The app writes one JSON access line per request itself (method, path, status, ms, user id).
accesslog = None


class _Logger(Logger):
    """gunicorn's logger, with access lines only when `accesslog` is set: a logging config alone
    (logconfig_dict below) made gunicorn gather every request's log fields, then drop them."""

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


logger_class = _Logger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
proc_name = "xometry-site"
control_socket_disable = True  # no runtime control socket (one shared path per user otherwise)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "asctime": "time"},
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "WARNING", "handlers": []},  # the app adds its JSON handler there
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def when_ready(server):
    """A shared socket is safe but lets one worker take most connections: say so at start."""
    if not server.cfg.reuse_port:
        server.log.warning(
            "One listening socket shared by all workers (GUNICORN_REUSE_PORT=0, or %s is not 1):"
            " new connections may gather on one worker; see deploy/sysctl/",
            _MIGRATE_REQ,
        )


def post_worker_init(worker):
    """Once the app is loaded: a fatal signal leaves a Python traceback in the error log, and the
    objects the app made at start (modules, templates, mappings: most of the heap) are moved out
    of the garbage collector's sight, so its full collections, which used to stall a worker for
    tens of milliseconds in the middle of requests, only walk what requests leave behind."""
    import faulthandler

    faulthandler.enable()
    _freeze()


# Once more after a worker's first requests: what they built to stay (compiled templates and
# statements, translations, kept sections) would otherwise stay in the oldest generation, which
# each full collection walks. With it, the full collections during a load run took 4-7 ms each
# instead of 8-21 ms. A cycle of a request in flight at that moment is never collected: a few KB,
# once per worker.
FREEZE_AFTER = _int("GUNICORN_FREEZE_AFTER", 1000)  # requests; 0: never
_served = itertools.count(1)  # per worker: each starts from the master's untouched copy


def post_request(worker, req, environ, resp):
    """Counts the worker's requests (next() on a count is atomic under the GIL)."""
    if next(_served) == FREEZE_AFTER:
        _freeze()


def _freeze() -> None:
    import gc

    gc.collect()
    gc.freeze()
