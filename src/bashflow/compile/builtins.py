"""compile/builtins.py - what bash's builtins read and write (the core's own knowledge; programs
come from the command specs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bashflow.compile.effects import FILE_TESTS, named_var_read, path_read, var_write
from bashflow.compile.model import (
    ALL_PROCESSES,
    ALL_VARIABLES,
    CWD,
    ENV,
    POSITIONAL,
    STDIN,
    STDOUT,
    CNode,
    Res,
)
from bashflow.policy.values import Field, State

if TYPE_CHECKING:
    from bashflow.compile.lower import Lowerer

BARRIER_BUILTINS = frozenset(
    {
        "exec",
        "kill",
        "umask",
        "ulimit",
        "shopt",
        "alias",
        "unalias",
        "enable",
        "bind",
        "complete",
        "compgen",
        "compopt",
        "fc",
        "history",
        "disown",
        "bg",
        "fg",
        "suspend",
        "logout",
        "source",
        ".",
    }
)
ESCAPES = frozenset({"exit", "return", "break", "continue"})

# --------------------------------------------------------------------------- builtins


def _operands(argv: list[Field]) -> tuple[list[Field], str]:
    ops: list[Field] = []
    flags = ""
    for i, f in enumerate(argv[1:], 1):
        if f.exact and f.text == "--":
            ops.extend(argv[i + 1 :])
            break
        if not ops and f.exact and f.text[:1] in ("-", "+") and len(f.text) > 1:
            flags += f.text[1:]
        else:
            ops.append(f)
    return ops, flags


def builtin_effects(lw: Lowerer, node: CNode, argv: list[Field], st: State) -> None:
    name = argv[0].text
    if name in ("command", "builtin"):
        ops, flags = _operands(argv)
        if "v" in flags or "V" in flags:
            node.reads[ENV] = None
            node.reads[("function", None, None)] = None
            return
        if not ops or not ops[0].exact:
            return
        argv = ops
        name = ops[0].text
    if name in ("read", "mapfile", "readarray"):
        texts = [f.text for f in argv]
        if "-u" in texts and texts.index("-u") + 1 < len(texts):
            res: Res = ("stream", None, "fd" + texts[texts.index("-u") + 1])
        else:
            res = STDIN
        node.reads[res] = None
        node.writes[res] = None
        node.reads[("variable", None, "IFS")] = None
    elif name in ("cd", "pushd", "popd"):
        node.reads[CWD] = None
        node.writes[CWD] = None
        var_write(node, "PWD")
        var_write(node, "OLDPWD")
        if name != "cd":
            var_write(node, "DIRSTACK")
            node.reads[("variable", None, "DIRSTACK")] = None
        ops, _ = _operands(argv)
        if name == "popd":
            pass
        elif not ops:
            node.reads[("variable", None, "HOME")] = None
        elif ops[0].exact and ops[0].text == "-":
            node.reads[("variable", None, "OLDPWD")] = None
        else:
            node.reads[("variable", None, "CDPATH")] = None
            path_read(node, ops[0], st.cwd)
    elif name == "pwd":
        node.reads[CWD] = None
    elif name in ("export", "declare", "typeset", "local", "readonly", "unset"):
        _declare(lw, node, name, argv)
    elif name == "set":
        _set(lw, node, argv)
    elif name == "shift":
        node.reads[POSITIONAL] = None
        node.writes[POSITIONAL] = None
    elif name == "getopts":
        node.reads[POSITIONAL] = None
        var_write(node, "OPTIND")
        var_write(node, "OPTARG")
        node.reads[("variable", None, "OPTIND")] = None
    elif name in ESCAPES:
        node.escapes.add(name)
        if len(argv) == 1:
            node.status_dep = True
        if name in ("break", "continue") and len(argv) > 1 and argv[1].text not in ("1",):
            node.escapes.add("exit")  # leaves more than the innermost loop: never cheaper
    elif name == "wait":
        # what the jobs it waits for wrote is complete only now (edges out of a `&` node
        # order only its start): everything after it waits for it
        node.reads[ALL_PROCESSES] = None
        node.barrier("`wait`: the background jobs' effects are complete only after it")
    elif name == "jobs":
        node.reads[ALL_PROCESSES] = None
    elif name == "trap":
        ops, flags = _operands(argv)
        if not ("p" in flags or "l" in flags or len(ops) < 2):
            node.barrier("a `trap` handler runs at a time the compiler cannot know")
    elif name in BARRIER_BUILTINS:
        if name in ("source", "."):
            lw.forget_everything(st)
            lw.allexport = True  # the file may export anything
        node.barrier(f"`{name}` changes the shell in ways the compiler does not follow")
    elif name in ("test", "["):
        for i, f in enumerate(argv):
            if not f.exact:
                continue
            if f.text in FILE_TESTS and i + 1 < len(argv):
                path_read(node, argv[i + 1], st.cwd)
            elif f.text in ("-nt", "-ot", "-ef"):
                path_read(node, argv[i - 1], st.cwd)
                if i + 1 < len(argv):
                    path_read(node, argv[i + 1], st.cwd)
            elif f.text == "-v" and i + 1 < len(argv):
                named_var_read(node, [argv[i + 1]])
    elif name in ("type", "hash"):
        node.reads[ENV] = None
        node.reads[("function", None, None)] = None
    if name in ("echo", "printf", "pwd", "type", "set", "declare", "typeset", "export", "jobs"):
        node.writes[STDOUT] = None


def _set(lw: Lowerer, node: CNode, argv: list[Field]) -> None:
    """`set`: options (a barrier: they change how every later command runs; `-e` and `-a`
    are also noted for the graph), positional parameters, or with no argument a listing."""
    if len(argv) == 1:
        node.reads[ALL_VARIABLES] = None
        node.writes[STDOUT] = None
        return
    i = 1
    options = False
    while i < len(argv):
        f = argv[i]
        t = f.text if f.exact else ""
        if not t:
            lw.errexit = lw.allexport = True
            node.barrier("`set` with options that are not known statically")
            return
        if t == "--" or t == "-":
            node.writes[POSITIONAL] = None
            break
        if t[0] not in "-+":
            node.writes[POSITIONAL] = None
            break
        options = True
        on = t[0] == "-"
        letters = t[1:]
        if "o" in letters and i + 1 < len(argv):
            i += 1
            name = argv[i].text if argv[i].exact else ""
            lw.errexit = lw.errexit or (on and name in ("errexit", ""))
            lw.allexport = lw.allexport or (on and name in ("allexport", ""))
        lw.errexit = lw.errexit or (on and "e" in letters)
        lw.allexport = lw.allexport or (on and "a" in letters)
        i += 1
    if options:
        node.barrier("`set` changes shell options")


def _declare(lw: Lowerer, node: CNode, name: str, argv: list[Field]) -> None:
    ops, flags = _operands(argv)
    if not ops:
        node.reads[ALL_VARIABLES] = None
        if "f" in flags or "F" in flags:
            node.reads[("function", None, None)] = None
        return
    for f in ops:
        if not f.exact:
            node.writes[ALL_VARIABLES] = None
            node.writes[ENV] = None
            if name == "export" or "x" in flags:
                lw.allexport = True
            continue
        var = f.text.split("=", 1)[0].rstrip("+").split("[", 1)[0]
        if name == "unset" and "f" in flags:
            node.writes[("function", None, var)] = None
            continue
        if name != "unset" and ("f" in flags or "F" in flags):
            node.reads[("function", None, var)] = None
            if name == "export":
                node.writes[ENV] = None
            continue
        if name != "unset" and "=" not in f.text and "p" in flags:
            node.reads[("variable", None, var)] = None
            continue
        var_write(node, var)
        if name == "export" or "x" in flags:
            node.writes[ENV] = None
            lw.exported.add(var)
