"""sandbox/relay.py - copy a sandboxed tree's stdout/stderr pipes to the caller, counting bytes.

`output_mib` is enforced here, on the bytes the tree writes to its output pipes: when the total
passes the limit the tree is killed and the outcome names `output_mib`.
"""

from __future__ import annotations

import os
import selectors

from bashflow.sandbox.spawner import Outcome, SandboxProcess

MIB = 1024 * 1024


def relay(
    proc: SandboxProcess, pipes: dict[int, int], *, limit_mib: int | None
) -> tuple[Outcome, int]:
    """Copy each read end in `pipes` (read fd → destination fd) until EOF, then wait.

    Returns the outcome and the number of bytes copied; closes the read ends.
    """
    limit = limit_mib * MIB if limit_mib is not None else None
    total = 0
    exceeded = False
    sel = selectors.DefaultSelector()
    for fd in pipes:
        sel.register(fd, selectors.EVENT_READ)
    open_fds = set(pipes)
    while open_fds:
        for key, _ in sel.select():
            fd = int(key.fd)
            data = os.read(fd, 65536)
            if not data:
                sel.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
                continue
            if exceeded:
                continue
            if limit is not None and total + len(data) > limit:
                data = data[: limit - total]
                exceeded = True
                proc.kill()
            total += len(data)
            view = memoryview(data)
            while view:
                n = os.write(pipes[fd], view)
                view = view[n:]
    sel.close()
    outcome = proc.wait()
    assert outcome is not None
    if exceeded and outcome.limit is None:
        outcome.limit, outcome.value = "output_mib", str(limit_mib)
    return outcome, total
