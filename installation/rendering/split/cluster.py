"""The Ray cluster a split render runs on: connecting (or starting a local one), what it has, and the calls
the farm makes on it. Every Ray call of the project is here.

ADDRESS (`render --ray [ADDRESS]`):
    none             a local Ray started for this render (this machine's cores and GPUs), stopped after it
    auto             the cluster this machine is a node of (`ray start --head`, or `ray start --address ...`)
    HOST:PORT        a cluster's head node (its GCS port, 6379 unless changed), from a node of that cluster

ray://HOST:PORT (Ray Client) is refused: Ray Client cannot stream a generator task's
results (tried with Ray 2.60: "'ObjectRefGenerator' object has no attribute 'binary'"),
and the frames stream back as they are dreamt. A machine outside the cluster joins it
as a node without cores of its own (`ray start --address HEAD:6379 --num-cpus 0`) and
renders with `--ray auto`. A cluster with token authentication needs its token here
too (~/.ray/auth_token, or RAY_AUTH_TOKEN; see Ray's token authentication guide).

An existing cluster receives this checkout's `engine` and `installation` packages with the
job (Ray's py_modules), so every node dreams with the driver's code; each node needs the
same Python packages (requirements.txt) and must see the input at the same path.

Chunk tasks are retried by Ray when their worker or node dies (max_retries); an error the
chunk raises itself (a damaged input) is not retried: it stops the render, and the
finished chunks are kept for --resume.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import DreamwallError
from installation import HOME
from installation.rendering.split.plan import Chunk
from installation.rendering.split.task import FINISHED, ChunkFn, ChunkItem, ChunkJob, Finished

log = logging.getLogger(__name__)

TASK_RETRIES = 3  # a chunk whose worker dies is dreamt again up to this many times
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "pip install -r requirements-ray.txt"
CODE = tuple(HOME / name for name in ("engine", "installation"))  # shipped to an existing cluster with the job


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DreamwallError(f"render --ray needs Ray, which is not installed here: {INSTALL_HINT}") from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise DreamwallError(f"--ray address '{address}' must be auto or HOST:PORT, e.g. 10.0.0.5:6379")
    return host.strip("[]"), int(port)


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S, found: str = "") -> None:
    """A head node that does not answer is one line now, not a long hang inside Ray's own retries.

    `found`: where an address that was not typed came from (for --ray auto), said in the error."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise DreamwallError(f"cannot reach the Ray cluster at {address}{found}: {reason}; is its head node "
                             "running (ray start --head) and the port open?") from None  # fmt: skip


def resolve_auto() -> tuple[str, str]:
    """(HOST:PORT, where it came from) for --ray auto, found as Ray 2.60 finds it: RAY_ADDRESS, else the address
    file the last `ray start` on this machine wrote (<temp>/ray/ray_current_cluster, kept after that cluster
    stopped), else a Ray running here. ConnectionError when there is none. Ray's own resolver is called, so
    what is checked is what Ray would join; the render then joins that address and no other."""
    from ray._common.utils import get_ray_address_file  # private, pinned: requirements-ray.txt
    from ray._private.services import get_ray_address_from_environment
    from ray._private.utils import read_ray_address

    address = get_ray_address_from_environment("auto", None)
    if os.environ.get("RAY_ADDRESS"):
        return address, " (from RAY_ADDRESS)"
    address_file = get_ray_address_file(None)
    if read_ray_address(None) == address:
        return address, f" (from {address_file}, written by an earlier `ray start`)"
    return address, " (a Ray running on this machine)"


def _chunk_task(fn: ChunkFn, job: ChunkJob, chunk: Chunk) -> Iterator[ChunkItem]:
    """The one Ray task: a generator, so Ray streams each item back as it is yielded."""
    yield from fn(job, chunk)


@dataclass
class RayCluster:
    """A connected Ray: what it has, and submitting, following and cancelling chunk tasks."""

    ray: Any
    description: str
    cpus: int
    gpus: int

    def slots(self, device: str) -> int:
        """Chunks dreamt at once: one per GPU, or one per CPU core (each task one thread)."""
        return max(1, self.gpus if device == "cuda" else self.cpus)

    def submit(self, fn: ChunkFn, job: ChunkJob, chunks: Iterable[Chunk]) -> dict[Any, Chunk]:
        """One streaming task per chunk: each yields its frames as they are dreamt."""
        task = self.ray.remote(_chunk_task).options(
            num_cpus=1, num_gpus=1 if job.device == "cuda" else 0,
            max_retries=TASK_RETRIES, retry_exceptions=False, name="dreamwall-chunk",
        )  # fmt: skip
        shared = self.ray.put(job)
        return {task.remote(fn, shared, chunk): chunk for chunk in chunks}

    def next_item(self, running: dict[Any, Chunk]) -> tuple[Any, ChunkItem | Finished]:
        """The next thing any running chunk has to say: a frame, its start, or FINISHED."""
        ready, _ = self.ray.wait(list(running), num_returns=1)
        handle = ready[0]
        chunk = running[handle]
        try:
            return handle, self.ray.get(next(handle))
        except StopIteration:
            return handle, FINISHED
        except self.ray.exceptions.RayTaskError as error:
            cause = error.cause if isinstance(error.cause, Exception) else error
            if isinstance(cause, DreamwallError):
                raise DreamwallError(f"chunk {chunk.index} (frames {chunk.first}-{chunk.stop - 1}): {cause}") from None
            raise DreamwallError(f"chunk {chunk.index} failed: {str(cause).strip().splitlines()[-1]}") from None
        except self.ray.exceptions.RayError as error:  # the worker or node died more than TASK_RETRIES times
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DreamwallError(f"chunk {chunk.index} failed after {TASK_RETRIES} retries: {first}") from None

    def cancel(self, handles: Iterable[Any]) -> None:
        for handle in handles:
            self.ray.cancel(handle, force=True)

    def close(self) -> None:
        """Disconnect; a local Ray started for this render stops with it."""
        self.ray.shutdown()


def connect(address: str | None, cpus: int | None = None, verbose: bool = False) -> RayCluster:
    """Start a local Ray (address None) or join a running cluster; a DreamwallError says why not."""
    if address is not None:
        _token_if_any()  # before Ray is imported: it reads its authentication mode once
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline machines: no phoning home
    quiet = {"logging_level": logging.INFO if verbose else logging.ERROR, "log_to_driver": verbose}
    if address is None:
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
        where = "a local Ray"
    else:
        if address.startswith("ray://"):
            raise DreamwallError(f"--ray {address}: Ray Client cannot stream the frames back as they are dreamt; "
                                 "join this machine to the cluster (ray start --address HEAD:6379 --num-cpus 0) "
                                 "and use --ray auto")  # fmt: skip
        try:
            joined, found = resolve_auto() if address == "auto" else (address, "")
            check_reachable(joined, found=found)
            ray.init(address=joined, runtime_env={"py_modules": [str(path) for path in CODE]}, **quiet)
        except ConnectionError as error:
            hint = ("start one with `ray start --head`, or give its address" if address == "auto" else
                    f"{error}; a cluster with token authentication also needs its token here (RAY_AUTH_TOKEN, or "
                    "~/.ray/auth_token from `ray get-auth-token` on the head)")  # fmt: skip
            raise DreamwallError(f"no Ray cluster at --ray {address}: {hint}") from None
        where = f"the Ray cluster at {address}"
    resources = ray.cluster_resources()
    cluster = RayCluster(ray, where, int(resources.get("CPU", 0)), int(resources.get("GPU", 0)))
    log.info("%s: %d CPUs, %d GPUs", where, cluster.cpus, cluster.gpus)
    return cluster


def _token_if_any() -> None:
    """Send the cluster token when there is one, as `ray start` does: Ray enables token authentication by itself
    only when RAY_AUTH_MODE says so, and a driver joining by HOST:PORT without it is refused."""
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if "RAY_AUTH_MODE" not in os.environ and (os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file()):
        os.environ["RAY_AUTH_MODE"] = "token"
