"""gunicorn's settings for `make run` (bin/run passes `-c config/gunicorn.py`).

Threaded workers (gthread): a connection that is open but idle, such as a browser's
preconnect or a keep-alive connection between requests, waits in the worker's poller and
holds no thread. A sync worker blocks on such a connection until its timeout (30 s) kills
it, so two idle sockets stopped a two-worker site for that long (bench/idle_connections.py
measures it). Idle keep-alive connections are closed after `keepalive` seconds.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5
timeout = 30  # a request (a PDF, a report) that takes longer restarts its worker
graceful_timeout = 5
accesslog = "-"
