"""gunicorn's settings for the image (`gunicorn -c python:hub.gunicorn_conf hub.wsgi:application`).

The graceful timeout must stay shorter than the time the orchestrator waits after SIGTERM
(docker-compose.yml `stop_grace_period`, the web Deployment's terminationGracePeriodSeconds).
WEB_CONCURRENCY sets the worker count (gunicorn reads it itself).
"""

bind = "0.0.0.0:8000"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
# Heartbeat files in memory: a slow or read-only disk must not make workers look dead.
worker_tmp_dir = "/dev/shm"  # noqa: S108
accesslog = "-"
errorlog = "-"
