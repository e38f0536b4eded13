"""gunicorn settings of the multiprocess metrics test: a dead worker's gauges leave the sums."""

from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
