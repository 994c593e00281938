"""gunicorn settings shared by the Procfile, docker-compose and bench/load.py (read with `-c gunicorn.conf.py`).

2 workers, each with threads (gthread): a request mostly waits on PostgreSQL round trips, and a thread
waiting on the database releases the GIL, so the threads of one worker overlap those waits instead of
queueing behind them as sync workers do. Each thread keeps its own database connection
(CONN_MAX_AGE), so the server holds up to WEB_CONCURRENCY x WEB_THREADS connections.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Keep-alive connections from a proxy or load generator hold a thread only while a request runs.
keepalive = 5
