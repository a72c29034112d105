"""gunicorn settings for gridflow's app hosts:

    gunicorn -c python:gridflow.gunicorn_conf 'gridflow.app:create_app()'

    GRIDFLOW_BIND          where to listen (default 127.0.0.1:8000)
    GRIDFLOW_WEB_WORKERS   worker processes (default 4)
    GRIDFLOW_WEB_THREADS   threads per worker (default 4)
    PROMETHEUS_MULTIPROC_DIR  where the workers keep their metrics (default: a fresh temporary
                           folder); emptied when gunicorn starts

No orphaned workers: when the master dies (even by `kill -9`), the kernel sends each worker
SIGTERM (Linux's parent-death signal), the worker stops taking requests and finishes the ones
it has; a watchdog thread sees the master gone within a second, asks again, and ends the worker
after `graceful_timeout` if a request never finishes. Settings
given on gunicorn's command line override these.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

bind = os.environ.get("GRIDFLOW_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GRIDFLOW_WEB_WORKERS", "4"))
worker_class = "gthread"  # keeps connections alive between requests
threads = int(os.environ.get("GRIDFLOW_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# gridflow writes its own request log (GRIDFLOW_LOG_FORMAT=json): gunicorn's is off.
accesslog = None

# The metrics of every worker process go to files the scrape adds up; set before a worker
# imports prometheus_client (the workers load the application after the fork).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gridflow-metrics-")

if os.environ.get("GRIDFLOW_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "gridflow.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        },
    }

_PR_SET_PDEATHSIG = 1


def on_starting(server: Any) -> None:  # noqa: ANN401 - gunicorn's Arbiter
    """Empty the metrics folder: files of an earlier run's processes would be added up."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


def post_fork(server: Any, worker: Any) -> None:  # noqa: ANN401 - gunicorn's Arbiter, Worker
    """SIGTERM to this worker when the master dies, and a watchdog in case it never ends."""
    master = int(server.pid)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog alone
        logging.getLogger("gunicorn.error").warning("no parent-death signal on this system")
    if os.getppid() != master:  # the master died before the signal was asked for
        os._exit(0)
    grace = float(server.cfg.graceful_timeout)

    def watchdog() -> None:
        while os.getppid() == master:
            time.sleep(1.0)
        # Asked again each second: a SIGTERM that came before gunicorn set its own handlers
        # (while the worker was loading the application) went to the master's, and is lost.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watchdog, name="orphan-watchdog", daemon=True).start()


def child_exit(server: Any, worker: Any) -> None:  # noqa: ANN401
    """A worker's live metrics end with it (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
