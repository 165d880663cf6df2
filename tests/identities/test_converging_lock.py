"""One converger at a time per credentials row, on the SQLite stack too (`make run`): the
worker there is several processes, so the lock is a file lock (identities/credentials.py).
The PostgreSQL advisory lock is tested with threads in tests/docker_repos/test_concurrency.py."""

import subprocess
import sys
import threading

import pytest
from django.db import connection

from docker_repos.models import RobotAccount
from hub.aws import AwsTransientError
from identities.credentials import _file_lock, lock_path


def test_the_sqlite_converging_lock_holds_across_processes(settings, tmp_path):
    """`make run` (SQLite) runs the worker as several processes: the lock they share is a
    file lock, refused to a second holder whether it is another process or thread."""
    settings.VAR_DIR = tmp_path
    lock_path(RobotAccount, 7).parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, os, sys, time\n"
                f"fd = os.open({str(lock_path(RobotAccount, 7))!r}, "
                "os.O_CREAT | os.O_RDWR)\n"
                "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\nsys.stdin.read()\n"
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AwsTransientError, match="Another task"):
            with _file_lock(RobotAccount, 7):
                pass
    finally:
        holder.communicate("", timeout=10)
    with _file_lock(RobotAccount, 7):  # free again once the other process let go
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(_try(_file_lock, 7)))
        thread.start()
        thread.join(10)
        assert outcome == ["busy"]
    assert _try(_file_lock, 8) == "free"


def _try(lock, pk):
    try:
        with lock(RobotAccount, pk):
            return "free"
    except AwsTransientError:
        return "busy"


def test_the_lock_is_per_database(settings, tmp_path, monkeypatch):
    """Two databases (two hubs, or parallel test workers) sharing one VAR_DIR or one
    PostgreSQL server never wait for each other's rows."""

    settings.VAR_DIR = tmp_path
    here = lock_path(RobotAccount, 7)
    monkeypatch.setitem(connection.settings_dict, "NAME", "another-hub")
    assert lock_path(RobotAccount, 7) != here
    with _file_lock(RobotAccount, 7):
        monkeypatch.undo()
        settings.VAR_DIR = tmp_path
        assert _try(_file_lock, 7) == "free"
