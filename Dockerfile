# Platform Hub: one image for every process (web, worker, beat, migrate).
#
#   docker build -t platform-hub .
#   docker compose up          # see docker-compose.yml; Kubernetes: deploy/kubernetes
#
# The default command serves the web app with gunicorn on port 8000 (hub/gunicorn_conf.py).
# The same image runs the Celery worker (`celery -A hub worker -l info`) and beat
# (`celery -A hub beat -l info`). It runs as 10001:10001 and writes only to /tmp and
# HUB_VAR_DIR, so it works with a read-only root filesystem and those two as volumes.
FROM python:3.11-slim

# Templates and static sources live beside the packages (settings.BASE_DIR uses the
# location of hub/settings.py), so PYTHONPATH makes every process (gunicorn, celery,
# manage.py) import the project from /app, not from the copy pip put in site-packages.
# The collected static files live outside HUB_VAR_DIR (HUB_STATIC_ROOT), so an empty
# volume can be mounted on HUB_VAR_DIR. gunicorn reads its worker count from
# WEB_CONCURRENCY: override it per deployment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=hub.settings \
    HUB_ENV=production \
    HUB_VAR_DIR=/app/var \
    HUB_STATIC_ROOT=/app/static-root \
    PYTHONPATH=/app \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin hub

WORKDIR /app

# Dependencies first, from the lock file with every hash checked (`make lock` regenerates
# it), so editing the code reuses this layer and every build installs the same files.
COPY requirements/lock.txt requirements/lock.txt
RUN pip install --require-hashes --no-deps -r requirements/lock.txt

# The project itself, with nothing more: its dependencies are all in the layer above, and
# the build backend (setuptools) too.
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY projects ./projects
COPY identities ./identities
COPY docker_repos ./docker_repos
RUN pip install --no-deps --no-build-isolation . \
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
    && mkdir -p /app/var \
    && chown -R 10001:10001 /app/var

# Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

# /livez answers while gunicorn does, whatever the Host header, and checks nothing else:
# a database or broker outage must not get the container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "-c", "python:hub.gunicorn_conf", "hub.wsgi:application"]
