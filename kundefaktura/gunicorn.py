"""gunicorn settings module for production (`gunicorn -c python:kundefaktura.gunicorn …`), also used by
bench/load.py so that what it measures is what production runs.

- With `PROMETHEUS_MULTIPROC_DIR` set, a worker that exits has its live gauges removed from the shared
  files (prometheus_client's multiprocess mode, kundefaktura/metrics.py).
- Garbage collection: once a worker has loaded the application, everything loaded so far (Django, the
  URL patterns, the compiled templates, the translations: a few hundred thousand objects that live as
  long as the worker) is frozen out of the collector's sight, and the youngest generation is collected
  every `GC_GEN0_THRESHOLD` allocations instead of every 700. A request then no longer pays for full
  collections that walk the whole application; reference cycles are still collected. Measured in
  docs/performance.md.
"""

import gc
import os


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
    threshold = int(os.environ.get("GC_GEN0_THRESHOLD", "50000"))
    if threshold > 0:
        gc.set_threshold(threshold, 20, 100)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
