"""execute/main - set up a shell the way bash starts one (environment, special variables,
options, signals), parse the script and run it; a syntax error is reported as bash reports
it, after the commands before it have run."""

from __future__ import annotations

import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from bashflow.errors import ParseError
from bashflow.execute.interp import Interpreter
from bashflow.execute.state import ARRAY, EXPORT, READONLY, Var
from bashflow.parser import parse_source
from bashflow.parser import syntax as s
from bashflow.source import Source

if TYPE_CHECKING:
    from bashflow.cli.exec_cmd import ExecOptions
    from bashflow.execute.policy_hook import PolicyHook

BASH_VERSION = "5.2.15(1)-release"
BASH_VERSINFO = ["5", "2", "15", "1", "release", "x86_64-pc-linux-gnu"]


def init_state(interp: Interpreter, arg0: str, args: list[str]) -> None:
    st = interp.state
    g = st.scopes[0]
    for k, v in os.environ.items():
        if k.startswith("BASH_FUNC_") and k.endswith("%%"):
            import_function(interp, k[10:-2], v)
            continue
        g[k] = Var(v, EXPORT)
    defaults = {
        "IFS": " \t\n", "PS4": "+ ", "PS2": "> ", "OPTIND": "1", "OPTERR": "1",
        "BASH_VERSION": BASH_VERSION, "MACHTYPE": "x86_64-pc-linux-gnu", "OSTYPE": "linux-gnu",
        "HOSTTYPE": "x86_64", "PPID": str(os.getppid()), "UID": str(os.getuid()),
        "EUID": str(os.geteuid()),
    }  # fmt: skip
    for k, v in defaults.items():
        if k not in g or k in ("PPID", "UID", "EUID", "BASH_VERSION"):
            g[k] = Var(v, g[k].flags if k in g else 0)
    if "HOSTNAME" not in g:
        g["HOSTNAME"] = Var(socket.gethostname())
    if "PATH" not in g:
        g["PATH"] = Var("/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:.")
    try:
        shlvl = int(os.environ.get("SHLVL", "0")) + 1
    except ValueError:
        shlvl = 1
    g["SHLVL"] = Var(str(shlvl), EXPORT)
    g["BASH_VERSINFO"] = Var(dict(enumerate(BASH_VERSINFO)), ARRAY | READONLY)
    pwd = os.environ.get("PWD")
    try:
        ok = pwd is not None and pwd.startswith("/") and os.path.samefile(pwd, ".")
    except OSError:
        ok = False
    g["PWD"] = Var(pwd if ok else os.getcwd(), EXPORT)
    if "OLDPWD" in g and not os.path.isdir(g["OLDPWD"].value or ""):  # type: ignore[arg-type]
        del g["OLDPWD"]
    g["_"] = Var(arg0)
    st.arg0 = arg0
    st.positional = list(args)


def import_function(interp: Interpreter, name: str, text: str) -> None:
    """A function exported by a parent bash (`BASH_FUNC_name%%=() { ...; }`)."""
    try:
        script = parse_source(Source(f"{name} {text}\n", "environment"))
        item = script.body.items[0].command.first.commands[0]
    except (ParseError, IndexError):
        return
    if isinstance(item, s.FunctionDef):
        interp.state.functions[name] = (item, Source(f"{name} {text}\n", "environment"), 0)
        interp.exported_functions.add(name)


def run_exec(o: ExecOptions, *, policy: PolicyHook | None = None) -> int:
    """Run the script of `o` as bash would; returns its exit status.

    `policy` is the run-time check of each external command, resolved by the caller (the
    sandboxed runner loads the policy and runs the static precheck outside the sandbox and
    hands the hook in). Without it, `o.policy` / `o.profile` (if any) are loaded here and the
    precheck runs here when `o.precheck`, as `--no-sandbox` does."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if o.command is not None:
        text = o.command
        arg0 = o.name if o.name is not None else "bashflow"
        error_name = arg0
        filename = arg0
        what = "-c"
    elif o.script_text is not None:  # a workflow document's script
        text = o.script_text
        arg0 = error_name = filename = o.file or "bashflow"
        what = "file"
    elif o.file is not None:
        try:
            with open(o.file, "rb") as fh:
                data = fh.read()
        except OSError as err:
            sys.stderr.write(f"bash: {o.file}: {os.strerror(err.errno or 2)}\n")
            return 127
        text = data.decode("utf-8", "surrogateescape")
        arg0 = error_name = filename = o.file
        what = "file"
    else:
        # with a policy the whole script is checked first; without one it is read as bash
        # reads it, a command at a time, so commands that read stdin see the rest of it
        whole = policy is not None or o.policy is not None or o.profile is not None
        text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape") if whole else ""
        arg0 = error_name = filename = "bashflow"
        what = "stdin" if whole else "stdin-lines"
    source = Source(text, filename)
    interp = Interpreter(source, name=error_name)
    init_state(interp, arg0, o.args)
    for name, on in o.set_options:
        if name in interp.state.options:
            interp.state.options[name] = on
    for name, on in o.shopts:
        if name in interp.state.shopt:
            interp.state.shopt[name] = on
    if what == "file":
        interp.state.base_sources = [arg0]
        interp.update_funcname()
    if what == "-c":
        interp.state.extra_flags = "c"
        interp.fatal_status = 127
    elif what in ("stdin", "stdin-lines"):
        interp.state.extra_flags = "s"
    if what == "stdin-lines":
        return run_stdin(interp, filename)
    if policy is not None:
        interp.policy = policy
    elif o.policy is not None or o.profile is not None:
        status = setup_policy(interp, o, text, filename)
        if status is not None:
            return status
    try:
        script = parse_source(source)
    except ParseError as err:
        return run_until_error(interp, err, source, what)
    setup_run(interp, script, source, o)
    try:
        return interp.run_script(script)
    except RecursionError:
        os.write(2, b"bashflow: exec: nesting too deep (recursion limit of the interpreter)\n")
        return 2


def setup_run(interp: Interpreter, script: s.Script, source: Source, o: ExecOptions) -> None:
    """The run record's events and the scheduler of parallel runs, from the compiled plan
    of this very tree (compile/runplan.py). Without events, -j1 and no workflow settings,
    nothing is compiled; a script the compiler cannot take runs in order."""
    events = None
    if o.events_fd >= 0:
        from bashflow.execute.events import Events, lift

        events = Events(lift(o.events_fd), o.nonce)
        interp.internal_fds.add(events.fd)
    if events is None and o.jobs <= 1 and not o.settings and not o.skip_nodes:
        return
    from bashflow.compile.runplan import run_plan

    try:
        plan = run_plan(source, script, cwd=os.getcwd(),
                        home=os.environ.get("HOME") or os.path.expanduser("~"),
                        errexit=interp.state.options["errexit"])  # fmt: skip
    except Exception:
        return
    if events is not None:
        interp.events = events
        interp.tracked = plan.pipelines
        events.emit({"event": "plan", "nodes": plan.nodes, "edges": plan.edges}, whole=True)
    if o.settings and not _same_nodes(plan.nodes, o.node_texts):
        os.write(2, b"bashflow: warning: the workflow's nodes no longer match its script "
                    b"(recompile it); its per-node settings are not used\n")  # fmt: skip
        o.settings = None
    if o.jobs > 1 or o.settings or o.skip_nodes:
        from bashflow.execute.schedule import NodeSettings, Scheduler

        settings = {int(k): NodeSettings(v) for k, v in (o.settings or {}).items()}
        interp.scheduler = Scheduler(interp, plan, o.jobs, settings=settings, pools=o.pools,
                                     skip=o.skip_nodes)  # fmt: skip


def _same_nodes(nodes: list[dict[str, object]], texts: dict[int, str]) -> bool:
    if len(nodes) != len(texts):
        return False
    for n in nodes:
        text = texts.get(n["id"])  # type: ignore[call-overload]
        shown = str(n["text"])
        if text is None or not (text == shown or (shown.endswith("...") and
                                text.startswith(shown[:-3]))):  # fmt: skip
            return False
    return True


def _read_line(fd: int) -> str | None:
    """One line of the script from `fd`, without reading past it (None at end of input)."""
    data = bytearray()
    while True:
        try:
            b = os.read(fd, 1)
        except InterruptedError:
            continue
        except OSError:
            b = b""
        if not b:
            return data.decode("utf-8", "surrogateescape") if data else None
        data += b
        if b == b"\n":
            return data.decode("utf-8", "surrogateescape")


def _incomplete(err: ParseError) -> bool:
    return "end of file" in err.message or err.found == "end of file"


def _open_heredoc(script: s.Script) -> bool:
    root: Any = script
    return any(isinstance(n, s.HereDoc) and not n.terminated for n in s.walk(root))


def run_stdin(interp: Interpreter, filename: str) -> int:
    """The script on stdin, read and run a complete command at a time (as bash does)."""
    from bashflow.execute.errors import ExitShell
    from bashflow.execute.syntax_errors import bash_message

    lines: list[str] = []
    first_line = 1
    try:
        while True:
            line = _read_line(0)
            if line is not None:
                lines.append(line)
            text = "".join(lines)
            if not text.strip() and line is not None:
                first_line += text.count("\n")
                lines = []
                continue
            if not text:
                break
            src = Source(text, filename)
            try:
                script = parse_source(src)
            except ParseError as err:
                if line is not None and _incomplete(err):
                    continue
                for msg in bash_message(err, src, interp.error_name, "stdin", first_line - 1):
                    os.write(2, (msg + "\n").encode("utf-8", "surrogateescape"))
                return interp.finish(2)
            if line is not None and _open_heredoc(script):
                continue
            interp.source, interp.line_offset = src, first_line - 1
            interp.run_toplevel(script.body)
            first_line += text.count("\n")
            lines = []
            if line is None:
                break
    except ExitShell as e:
        return interp.finish(e.status)
    except RecursionError:
        os.write(2, b"bashflow: exec: nesting too deep (recursion limit of the interpreter)\n")
        return 2
    return interp.finish(interp.state.last_status)


def setup_policy(interp: Interpreter, o: ExecOptions, text: str, filename: str) -> int | None:
    """`--no-sandbox` with a policy: load it, run the static precheck (unless
    `--no-precheck`) and install the run-time check; a status to exit with, or None."""
    from bashflow.errors import PolicyError
    from bashflow.execute.policy_hook import PolicyHook, precheck, resolve_policy
    from bashflow.render import render_error

    try:
        policy = resolve_policy(o)
    except PolicyError as err:
        sys.stderr.write(render_error(err) + "\n")
        return 2
    except (KeyError, ValueError, OSError) as err:
        detail = err.args[0] if isinstance(err, KeyError) and err.args else err
        sys.stderr.write(f"bashflow exec: {detail}\n")
        return 2
    if o.precheck:
        findings = precheck(text, policy, filename, os.getcwd())
        if findings:
            sys.stderr.write("\n".join(findings) + "\n")
            return 126
    interp.policy = PolicyHook(policy)
    return None


def run_until_error(interp: Interpreter, err: ParseError, source: Source, what: str) -> int:
    """bash reads and runs a script command by command, so what comes before a syntax error
    runs; then it reports the error and exits 2."""
    from bashflow.execute.syntax_errors import bash_message

    lines = source.text.split("\n")
    for k in range(max(err.line - 1, 0), 0, -1):
        prefix = "\n".join(lines[:k]) + "\n"
        try:
            script = parse_source(Source(prefix, source.filename))
        except ParseError:
            continue
        done = run_prefix(interp, script)
        if done is not None:
            return done
        break
    name = interp.error_name
    msgs = bash_message(err, source, name, what if what in ("-c", "stdin") else "file", 0)
    for line in msgs:
        os.write(2, (line + "\n").encode("utf-8", "surrogateescape"))
    return interp.finish(2)


def run_prefix(interp: Interpreter, script: s.Script) -> int | None:
    from bashflow.execute.errors import ExitShell

    try:
        interp.run_toplevel(script.body)
    except ExitShell as e:
        return interp.finish(e.status)
    return None
