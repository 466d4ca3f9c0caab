"""gunicorn settings module for production (`gunicorn -c python:kundefaktura.gunicorn …`).

Only what the metrics need: with `PROMETHEUS_MULTIPROC_DIR` set, a worker that exits has its live
gauges removed from the shared files (prometheus_client's multiprocess mode, kundefaktura/metrics.py).
"""

import os


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
