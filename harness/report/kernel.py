"""The Jupyter kernel the report notebooks run in, reached over Unix sockets instead of TCP.

ipykernel (>= 7) warns "Kernel is running over TCP without encryption" whenever a kernel
listens on TCP without CurveZMQ keys, which is what papermill starts by default: every
``harness report``, ``calibrate`` and ``compare`` printed it. The report kernel is local, so it
needs no network port at all: :class:`IPCKernelManager` starts it on IPC (Unix domain) sockets
in a private temporary folder (mode 0700), which nothing else on the machine can connect to,
and the warning's condition (TCP) no longer holds. Pass :func:`papermill_kernel_options` to
``papermill.execute_notebook``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import default


class IPCKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel listens on Unix sockets in a private folder."""

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        self._ipc_dir = tempfile.mkdtemp(prefix="harness-kernel-")
        os.chmod(self._ipc_dir, 0o700)
        return os.path.join(self._ipc_dir, "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        folder = getattr(self, "_ipc_dir", None)
        if folder and not restart:
            shutil.rmtree(folder, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def papermill_kernel_options() -> dict[str, Any]:
    """Keyword arguments for ``papermill.execute_notebook`` that start the kernel over IPC."""
    return {"kernel_manager_class": "harness.report.kernel.IPCKernelManager"}
