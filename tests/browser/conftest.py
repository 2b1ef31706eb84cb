"""Fixtures for the browser tests: one JupyterLab and one headless Chromium per test session.

The server runs on 127.0.0.1 with a random token, serving a temporary copy of ``notebooks/``
(JupyterLab autosaves what it opens) and of ``tests/browser/fixtures/``; every Jupyter, IPython
and matplotlib folder points into the same temporary folder, so nothing lands in the home
folder. The browser is Debian's /usr/bin/chromium when it exists, else Playwright's own
(``playwright install chromium``). With no browser the tests skip, except under ``CI``, where
they fail. See ../../../shared/BROWSER_NOTES.md (in the project's shared folder) for why.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _no_browser(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run under CI, but: {reason}", pytrace=False)
    pytest.skip(
        f"no browser for the browser tests: {reason} (apt-get install chromium, or playwright install chromium)"
    )


# Module scope, not session: Playwright's sync API runs an asyncio loop in this thread for as long
# as it lives, and every later test that starts asyncio (asyncio.run) would fail while it does.
@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _no_browser(f"playwright is not installed ({exc})")
    with sync_playwright() as p:
        try:
            if CHROMIUM.exists():
                b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            else:
                b = p.chromium.launch(args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            _no_browser(f"Chromium did not start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(path)``, ``api(method, path)``; ``root`` is the served folder.

    By default it serves a copy of ``notebooks/`` and of the fixtures. ``Lab(tmp, command, root)``
    instead runs ``command`` (a student's own, e.g. the README's) in the folder ``root``, adding
    only what a test needs: no browser, 127.0.0.1, a free port, a random token, quiet start-up.
    """

    def __init__(self, tmp: Path, command: list[str] | None = None, root: Path | None = None):
        self.tmp, self.root = tmp, root or tmp / "root"
        if root is None:
            shutil.copytree(
                ROOT / "notebooks", self.root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
            )
            shutil.copytree(
                FIXTURES, self.root / "fixtures", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
            )
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        for var, sub in [
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("IPYTHONDIR", "ipython"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("MPLCONFIGDIR", "mpl"),
            ("HOME", "home"),
        ]:
            env[var] = str(tmp / sub)
            (tmp / sub).mkdir(exist_ok=True)
        course = self.root if root is not None else ROOT  # the kernels import this course_lib
        env["PYTHONPATH"] = os.pathsep.join(
            [str(course)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        env["EDP_PROGRESS_FILE"] = ""          # running the course's notebooks must not tick a student's progress
        settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        if command is None:
            command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={self.root}"]
        self._given, self._env, self._cwd = command, env, self.root if root is not None else tmp
        self._start()

    def _start(self):
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(self.tmp / "jupyterlab.log", "w")
        flags = ["--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
                 f"--IdentityProvider.token={self.token}", "--allow-root", "--LabApp.news_url=None",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.command = self._given + flags
        self.proc = subprocess.Popen(self.command, env=self._env, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self._cwd, start_new_session=True)

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        for attempt in range(4):  # a GET that races an autosave can answer 500 once: ask again
            try:
                with urllib.request.urlopen(req, timeout=timeout) as r:
                    body = r.read()
                return json.loads(body) if body else None
            except urllib.error.HTTPError as exc:
                if method != "GET" or exc.code < 500 or attempt == 3:
                    raise
                time.sleep(0.5)

    def wait_ready(self, timeout: float = 120, tries: int = 3):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if tries > 1 and "is not available" in self.log_tail():  # another program took the free port
                    tries -= 1
                    self.log.close()
                    self.port = _free_port()
                    self._start()
                    continue
                break
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not start (exit {self.proc.poll()}):\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        self.log.flush()
        return "\n".join((self.tmp / "jupyterlab.log").read_text(errors="replace").splitlines()[-n:])

    def url(self, path: str, workspace: str) -> str:
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def shutdown_kernels(self):
        try:
            for k in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{k['id']}")
        except OSError:
            pass

    def stop(self):
        if self.proc.poll() is None:
            self.shutdown_kernels()
            os.kill(self.proc.pid, signal.SIGTERM)  # only the server we started, by its id
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def lab_class():
    """The Lab class, for tests that start JupyterLab their own way (tests/browser/test_readme_start.py)."""
    return Lab


@pytest.fixture(scope="module")
def lab(browser):  # the browser first: no server is started when the tests skip
    tmp = Path(tempfile.mkdtemp(prefix="edp-browser-"))  # our own folder, removed at the end
    server = Lab(tmp)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
