"""What every benchmark shares: the `xargs -P 8` reference and the machine's load."""

from __future__ import annotations

import subprocess
import time


def xargs_trues(n: int = 200, parallel: int = 8) -> float:
    """Seconds for ``xargs -P parallel`` to run ``n`` x ``sh -c true`` (the spawn reference)."""
    began = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(parallel), "-I{}", "sh", "-c", "true"],
        input="\n".join(str(i) for i in range(n)),
        text=True,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


def uptime() -> str:
    """``uptime``'s line: every figure is printed with the load it was measured under."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
