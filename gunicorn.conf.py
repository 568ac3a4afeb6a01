"""gunicorn settings, read from the environment: `gunicorn` run from the repository root picks
this file up by itself (README "Production").

Each worker process runs GUNICORN_THREADS threads, and each thread keeps its own database
connection (CONN_MAX_AGE): a machine holds up to WEB_CONCURRENCY × GUNICORN_THREADS
connections to PostgreSQL.
"""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request longer than this is a bug or a stuck query: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Workers are replaced now and then, so a slow leak never grows for weeks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The TLS proxy in front is trusted for X-Forwarded-*; Django reads the scheme itself
# (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# "-" is standard output/error, for the process manager's journal.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address as the proxy saw it, then the usual fields and the time taken (µs). The path
# is logged without its query string, which may carry a one-time code or a phone number.
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s "%(a)s" %(D)s'
)
