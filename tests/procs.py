"""Helpers for tests that start real processes (moto server, Celery worker, web server).

Every process is started in its own session with its output in a log file, and stopped by
its own id: `stop()` terminates it, then kills it if it does not exit in time. Use them in
a fixture (or a try/finally) so nothing outlives the test:

    proc = start_aws(port, log_dir=tmp_path)   # the AWS stand-in, ready
    try:
        ...
    finally:
        stop(proc)
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from hub import awsstandin

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def bin_path(name: str) -> str:
    """A console script of the test environment's virtualenv (moto_server, celery, ...)."""
    return str(BIN / name)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (also a reliably closed port)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self, tail: int = 6000) -> str:
        """The end of the process's output, for assertion messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-tail:]


def start(
    name: str,
    command: list[str],
    *,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
) -> Proc:
    """Start `command` with its stdout and stderr in `<log_dir>/<name>.log`."""
    log_path = Path(log_dir) / f"{name}.log"
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(
            command,
            env=full_env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Proc(name=name, popen=popen, log_path=log_path)


def stop(proc: Proc | None, timeout: float = 10, *, group: bool = False) -> None:
    """Terminate the process (by its id), then kill it if it is still there after `timeout`.

    With `group=True` the signals go to the process group `start()` gave it (its own id),
    so children it forked (gunicorn's workers, say) go too, even if it has already exited."""
    if proc is None:
        return
    if group:
        _stop_group(proc, timeout)
        return
    if not proc.running():
        return
    proc.popen.terminate()
    try:
        proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.popen.kill()
        proc.popen.wait(timeout=timeout)


def _signal_group(proc: Proc, sig: int) -> bool:
    """Send `sig` to the group led by `proc`; False when no process of it is left."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return False
    return True


def _stop_group(proc: Proc, timeout: float) -> None:
    if not _signal_group(proc, signal.SIGTERM):
        proc.popen.poll()  # reap a leader that exited on its own
        return
    try:
        proc.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.popen.wait(timeout=timeout)
    # Whatever of the group outlived its leader (bounded: these are killed, not asked).
    deadline = time.monotonic() + timeout
    while _signal_group(proc, 0) and time.monotonic() < deadline:
        _signal_group(proc, signal.SIGKILL)
        time.sleep(0.1)


def start_aws(
    port: int, *, log_dir: Path, env: Mapping[str, str] | None = None, name: str = "moto"
) -> Proc:
    """The AWS stand-in server (hub.awsstandin) on `port`, answering and prepared as an
    operator would (the users' permissions boundary policy exists)."""

    proc = start(name, awsstandin.command("127.0.0.1", port), log_dir=log_dir, env=env)
    wait_for_port(port, proc=proc)
    awsstandin.prepare(f"http://127.0.0.1:{port}", settings.HUB_IAM_PERMISSIONS_BOUNDARY)
    return proc


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int, host: str = "127.0.0.1", *, timeout: float = 30, proc: Proc | None = None
) -> None:
    """Wait until something accepts connections on host:port; fail early if `proc` dies."""
    wait_until(
        lambda: port_open(port, host),
        timeout=timeout,
        proc=proc,
        what=f"a listener on {host}:{port}",
    )


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float = 30,
    interval: float = 0.2,
    proc: Proc | None = None,
    what: str = "the condition",
):
    """Poll `condition` until it returns something truthy (and return that), bounded by
    `timeout` seconds. If `proc` exits meanwhile, fail at once with its output."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and not proc.running():
            raise AssertionError(
                f"{proc.name} exited with {proc.popen.returncode} while "
                f"waiting for {what}:\n{proc.log()}"
            )
        if time.monotonic() > deadline:
            log = f"\n{proc.name} output:\n{proc.log()}" if proc is not None else ""
            raise AssertionError(f"Timed out after {timeout:.0f}s waiting for {what}{log}")
        time.sleep(interval)
