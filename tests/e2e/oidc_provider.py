"""The real OpenID provider of the browser tests: panva's oidc-provider (tests/oidc/, from
npm with its committed package-lock.json) on Node, behind a TCP relay the tests can cut.

`running_provider()` installs it on first use (`npm ci` when node_modules is missing or
older than the lock file), starts it with the test's users and client, and stops it."""

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.procs import ROOT, Proc, free_port, start, stop, wait_for_port

from .relay import TcpRelay

OIDC_DIR = ROOT / "tests" / "oidc"


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    relay: TcpRelay
    proc: Proc
    request_log: Path

    def requests(self) -> list[str]:
        """Every request it answered so far, one line each (method, path, status)."""
        try:
            return self.request_log.read_text().splitlines()
        except FileNotFoundError:
            return []


def ensure_installed() -> None:
    lock = OIDC_DIR / "package-lock.json"
    installed = OIDC_DIR / "node_modules" / ".package-lock.json"
    if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise AssertionError(
            "The OpenID provider of the browser tests needs Node and npm "
            "(`apt-get install -y nodejs npm`)."
        )
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=OIDC_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise AssertionError(f"npm ci in {OIDC_DIR} failed:\n{result.stdout}\n{result.stderr}")


@contextlib.contextmanager
def running_provider(
    log_dir: Path, *, users: dict, redirect_uri: str, post_logout_redirect_uri: str
) -> Iterator[Provider]:
    ensure_installed()
    port = free_port()
    relay = TcpRelay(port)
    issuer = f"http://127.0.0.1:{relay.port}"
    request_log = log_dir / "oidc-requests.log"
    client = {
        "client_id": "platform-hub",
        "client_secret": "e2e-client-secret",
        "redirect_uris": [redirect_uri],
        "post_logout_redirect_uris": [post_logout_redirect_uri],
    }
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT": json.dumps(client),
        "OIDC_USERS": json.dumps(users),
        "OIDC_LOG": str(request_log),
    }
    proc = start(
        "oidc",
        [shutil.which("node") or "node", "provider.mjs"],
        log_dir=log_dir,
        env=env,
        cwd=OIDC_DIR,
    )
    try:
        wait_for_port(port, proc=proc)
        yield Provider(
            issuer=issuer,
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            relay=relay,
            proc=proc,
            request_log=request_log,
        )
    finally:
        stop(proc, timeout=10, group=True)
        relay.close()
