"""execute/contained - `bashflow exec` by default: the whole interpreter inside one sandbox.

`run_sandboxed` (called by `cli/exec_cmd.py`) resolves the policy (a `LitePolicy`: no
pydantic for a profile or a plainly valid file) and the work dir, runs the static precheck,
prepares a plan with `interpreter=True` and starts `interpreter_main` with
`Spawner.run_contained`: the same `run_exec` the `--no-sandbox` path runs, with the policy
handed in as the per-command hook, but inside every layer (cgroup, namespaces, rlimits, uid,
NO_NEW_PRIVS, Landlock, seccomp), so each program the script starts costs only a fork/exec.
Outside, it relays the output (`sandbox.relay`, escaped for a terminal unless `--raw-tty`; a
reader that is gone gives the script SIGPIPE), forwards nothing of its terminal, maps the
outcome to exec's statuses (124 wall timeout, 128+N a limit or signal, 125 no sandbox) and
kills the tree on SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from bashflow.errors import EXIT_USAGE

if TYPE_CHECKING:
    from bashflow.cli.exec_cmd import ExecOptions
    from bashflow.policy.lite import LitePolicy
    from bashflow.policy.model import Policy
    from bashflow.sandbox.plan import Plan
    from bashflow.sandbox.spawner import SandboxProcess, Spawner

EXIT_DENIED = 126
EXIT_SANDBOX = 125
EXIT_TIMEOUT = 124


class SandboxOptions:
    """bashflow's sandbox-only options of `exec`, taken out of the argv before bash's parsing."""

    def __init__(self) -> None:
        self.accept_weaker: list[str] = []
        self.raw_tty = False


_VALUED = ("--policy", "--profile", "--workdir", "-j", "--events", "--state-dir", "--keep-runs",
           "--skip-nodes", "-o", "+o", "-O", "+O")  # fmt: skip


def split_sandbox_options(argv: Sequence[str]) -> tuple[list[str], SandboxOptions]:
    """Remove `--accept-weaker LAYER` (repeatable, also `=LAYER`) and `--raw-tty` from the
    options before the script; everything from the script (or `--`, or `-c`'s text) on is
    left alone. Raises ValueError when `--accept-weaker` has no argument."""
    so = SandboxOptions()
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--raw-tty":
            so.raw_tty = True
        elif a == "--accept-weaker":
            if i + 1 >= len(argv):
                raise ValueError("--accept-weaker: option requires an argument")
            so.accept_weaker.append(argv[i + 1])
            i += 1
        elif a.startswith("--accept-weaker="):
            so.accept_weaker.append(a.partition("=")[2])
        elif a == "--" or a[:1] not in ("-", "+") or a in ("-", "+"):
            rest.extend(argv[i:])
            return rest, so
        elif a.startswith("-j") and len(a) > 2:
            rest.append(a)
        elif a in _VALUED:
            rest.extend(argv[i : i + 2])
            i += 1
        else:
            rest.append(a)
        i += 1
    return rest, so


def interpreter_main(o: ExecOptions, policy: LitePolicy, home: str) -> int:
    """The sandbox's main function: bash's signal dispositions back (a fresh python3 ignores
    SIGXFSZ, and programs started with posix_spawn would inherit that), then the ordinary
    interpreter (`run_exec`, as `--no-sandbox` runs it) with the policy resolved outside (its
    file need not be readable inside; a `LitePolicy`, so pydantic is not imported here) as the
    per-command hook."""
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from bashflow.execute.main import run_exec
    from bashflow.execute.policy_hook import PolicyHook

    return run_exec(o, policy=PolicyHook(policy, home=home))


def _unsearchable_ancestor(workdir: str) -> str | None:
    """As root the sandbox runs as another uid, which must pass through every ancestor of the
    work dir (the work dir itself is idmapped): the first one others cannot search, if any."""
    import stat

    parts = workdir.split("/")[1:-1]
    path = ""
    for part in parts:
        path += "/" + part
        try:
            if not os.stat(path).st_mode & stat.S_IXOTH:
                return path
        except OSError:
            return path
    return None


def run_sandboxed(o: ExecOptions, so: SandboxOptions) -> int:
    """Run the script of `o` inside the sandbox of its policy; returns exec's exit status."""
    from bashflow.errors import PolicyError
    from bashflow.render import render_error
    from bashflow.sandbox.plan import SandboxError
    from bashflow.sandbox.spawner import Spawner

    spawner = Spawner()
    spawner.start()  # a fresh small interpreter: it starts while the policy loads
    try:
        return _run(o, so, spawner)
    except PolicyError as err:
        sys.stderr.write(render_error(err) + "\n")
        return EXIT_USAGE
    except (KeyError, ValueError) as err:
        detail = err.args[0] if err.args else err
        sys.stderr.write(f"bashflow exec: {detail}\n")
        return EXIT_USAGE
    except SandboxError as err:
        sys.stderr.write(f"bashflow: sandbox: {err.message}\n")
        return EXIT_SANDBOX
    finally:
        spawner.close()


def _run(o: ExecOptions, so: SandboxOptions, spawner: Spawner) -> int:
    from bashflow.execute.host import script_key
    from bashflow.execute.policy_hook import precheck, resolve_policy
    from bashflow.sandbox.plan import prepare
    from bashflow.sandbox.probe import Layer

    workdir = os.path.realpath(o.workdir if o.workdir is not None else os.getcwd())
    if not os.path.isdir(workdir):
        sys.stderr.write(f"bashflow exec: --workdir {o.workdir}: No such directory\n")
        return EXIT_USAGE
    weaker = [Layer(name) for name in so.accept_weaker]
    policy = resolve_policy(o)
    readable: list[str] = []
    # the script's text, for the precheck; a FILE is opened inside as `--no-sandbox` opens it
    # (relative to the work dir), a script on stdin is read here and handed in as stdin
    stdin_fd: int | None = None if os.isatty(0) else 0
    script_fd = -1
    if o.command is not None:
        text, filename = o.command, o.name if o.name is not None else "bashflow"
    elif o.script_text is not None:  # a workflow document's script, handed in
        text, filename = o.script_text, o.file or "bashflow"
    elif o.file is not None:
        path = os.path.join(workdir, o.file)
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", "surrogateescape")
        except OSError:
            text = ""  # the interpreter reports it inside, as bash would
        else:
            readable.append(os.path.realpath(path))
        filename = o.file
    else:
        data = b"" if os.isatty(0) else sys.stdin.buffer.read()
        text, filename = data.decode("utf-8", "surrogateescape"), "bashflow"
        script_fd = os.memfd_create("bashflow-script", os.MFD_CLOEXEC)
        os.write(script_fd, data)
        os.lseek(script_fd, 0, os.SEEK_SET)
        stdin_fd = script_fd
    try:
        if o.precheck:
            findings = precheck(text, policy, filename, workdir)
            if findings:
                sys.stderr.write("\n".join(findings) + "\n")
                return EXIT_DENIED
        o.precheck = False  # done here; the run-time hook stays on inside
        # the script opened inside as outside
        policy = policy.with_readable(readable)
        # prepare reads a LitePolicy as it reads a Policy (the same sections and names)
        plan = prepare(cast("Policy", policy), workdir, accept_weaker=weaker, interpreter=True)
        blocked = _unsearchable_ancestor(workdir) if plan.root else None
        if blocked is not None:
            sys.stderr.write(
                f"bashflow: sandbox: the work dir {workdir} is out of reach of the sandbox's "
                f"unprivileged uid: {blocked} is mode {os.stat(blocked).st_mode & 0o7777:04o} "
                "(its ancestors need o+x)\n"
            )
            return EXIT_SANDBOX
        for layer in sorted(plan.accepted_missing, key=lambda la: la.value):
            sys.stderr.write(f"bashflow: warning: running without the {layer.value} layer\n")
        key = script_key(o, workdir, text)
        return _start_and_relay(o, (policy, plan.home), so, spawner, plan, stdin_fd,
                                key=key, name=filename, workdir=workdir, text=text)  # fmt: skip
    finally:
        if script_fd >= 0:
            os.close(script_fd)


def _start_and_relay(
    o: ExecOptions,
    args: tuple[object, ...],
    so: SandboxOptions,
    spawner: Spawner,
    plan: Plan,
    stdin_fd: int | None,
    *,
    key: str,
    name: str,
    workdir: str,
    text: str,
) -> int:
    from bashflow.execute.events import same_file
    from bashflow.execute.host import Cancelled, Control, start_recorder
    from bashflow.sandbox.relay import relay

    try:
        rec = start_recorder(o, key, name, workdir, text)
    except ValueError as err:  # RecorderError: --events cannot be opened
        sys.stderr.write(f"bashflow exec: {err}\n")
        return EXIT_USAGE
    sys.stdout.flush()
    sys.stderr.flush()
    merged = same_file(1, 2)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    if merged:
        err_r, err_w = -1, out_w
    else:
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
    ev_r = ev_w = -1
    pass_fds: tuple[int, ...] = ()
    if rec is not None:
        ev_r, ev_w = os.pipe2(os.O_CLOEXEC)
        o.events_fd, o.nonce = ev_w, rec.nonce
        pass_fds = (ev_w,)
    # pause / resume from another terminal (`bashflow pause RUN`: SIGUSR1, `resume`: SIGUSR2)
    # arrive through a pipe, so the fork server is asked from the relay loop, not a handler
    ctl = Control().__enter__()
    proc: SandboxProcess | None = None
    pipes = {out_r: 1} if merged else {out_r: 1, err_r: 2}
    relaying = False
    status = 1
    cancelled = False
    limit: str | None = None
    try:
        try:
            try:
                call = (o, *args)
                proc = spawner.run_contained(plan, interpreter_main, call, stdin=stdin_fd,
                                             stdout=out_w, stderr=err_w,
                                             pass_fds=pass_fds)  # fmt: skip
            finally:
                os.close(out_w)
                if not merged:
                    os.close(err_w)
                if ev_w >= 0:
                    os.close(ev_w)
            escape = () if so.raw_tty else [fd for fd in (1, 2) if os.isatty(fd)]
            relaying = True  # from here on relay() closes the read ends
            extra = {ctl.r: ctl.taker(proc.stop, proc.cont, rec)}
            filters = {}
            if rec is not None:
                extra[ev_r] = rec.feed_events
                filters = {fd: rec.output_filter(dest) for fd, dest in pipes.items()}
            # a reader of ours that is gone gives the script SIGPIPE, as under bash
            outcome, _ = relay(proc, pipes, limit_mib=plan.limits.output_mib, escape=escape,
                               close_gone=True, filters=filters, extra=extra,
                               hooks=rec)  # fmt: skip
        except Cancelled as e:
            if proc is not None:
                proc.kill()
                proc.wait()
            status, cancelled = 128 + e.signum, True
            return status
        finally:
            if not relaying:
                for fd in pipes:
                    os.close(fd)
            ctl.__exit__()
            if ev_r >= 0:
                os.close(ev_r)
        status = outcome.exit_code
        if outcome.limit:
            limit = outcome.limit
            if rec is not None:
                rec.clear_screen()
            sys.stderr.write(f"bashflow: limit exceeded: {outcome.limit} ({outcome.value})\n")
            if outcome.limit == "wall_seconds":
                status = EXIT_TIMEOUT
        return status
    finally:
        if rec is not None:
            rec.finish(status, cancelled=cancelled, limit=limit)
            rec.close()
