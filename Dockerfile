# Platform Hub: one image for every process (web, worker, beat, migrate).
#
#   docker build -t platform-hub .
#   docker compose up          # see docker-compose.yml
#
# The default command serves the web app with gunicorn on port 8000. The same image
# runs the Celery worker (`celery -A hub worker -l info`) and beat
# (`celery -A hub beat -l info -s /tmp/celerybeat-schedule`).
FROM python:3.11-slim

# Templates and static sources live beside the packages (settings.BASE_DIR uses the
# location of hub/settings.py), so PYTHONPATH makes every process (gunicorn, celery,
# manage.py) import the project from /app, not from the copy pip put in site-packages.
# gunicorn reads its worker count from WEB_CONCURRENCY: override it per deployment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hub.settings \
    HUB_ENV=production \
    HUB_VAR_DIR=/app/var \
    PYTHONPATH=/app \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /app --shell /usr/sbin/nologin hub

WORKDIR /app

# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY projects ./projects
COPY identities ./identities
COPY docker_repos ./docker_repos
RUN pip install . \
    && rm -rf build ./*.egg-info

COPY manage.py ./
COPY templates ./templates
COPY static ./static

# The secrets below exist only for this RUN so the production settings load; they are
# not part of the image's environment. The broker is never contacted by collectstatic.
RUN HUB_ENV=production \
    SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
    HUB_FERNET_KEYS=YnVpbGQtb25seS1ub3QtYS1zZWNyZXQtMzJieXRlcyE= \
    ALLOWED_HOSTS=build.invalid \
    HUB_IAM_PERMISSIONS_BOUNDARY=arn:aws:iam::000000000000:policy/build-only \
    CELERY_BROKER_URL=memory:// \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput -v 0 \
    && rm -f /tmp/build.sqlite3 \
    && chown -R hub:hub /app/var

USER hub

EXPOSE 8000

# /healthz checks the database and the broker. It must be asked under a name in
# ALLOWED_HOSTS: use the first one (a leading "." or "*" means any name will do).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; r = urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}); sys.exit(0 if urllib.request.urlopen(r, timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "hub.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--keep-alive", "5", \
     "--max-requests", "1000", \
     "--max-requests-jitter", "100", \
     "--worker-tmp-dir", "/dev/shm", \
     "--access-logfile", "-", \
     "--error-logfile", "-"]
