"""execute/builtins/misc - `trap`, `getopts`, `alias`/`unalias`, `ulimit`, `times`, `caller`."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import contextlib
import os
import signal
from typing import TYPE_CHECKING

from bashflow.execute.builtins.flow import SIGNALS, signal_number, signal_table
from bashflow.execute.errors import CommandError
from bashflow.execute.quoting import single_quote

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


# `compgen -k`: bash's reserved words in the order of its table
_KEYWORD_ORDER = ("if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while",
                  "until", "do", "done", "in", "function", "time", "{", "}", "!", "[[", "]]",
                  "coproc")  # fmt: skip
_COMPGEN_USAGE = (
    "compgen: usage: compgen [-abcdefgjksuv] [-o option] [-A action] [-G globpat] "
    "[-W wordlist] [-F function] [-C command] [-X filterpat] [-P prefix] [-S suffix] [word]"
)
_ACTIONS = {"a": "alias", "b": "builtin", "c": "command", "d": "directory", "e": "export",
            "f": "file", "g": "group", "j": "job", "k": "keyword", "s": "service", "u": "user",
            "v": "variable"}  # fmt: skip


class MiscBuiltins:
    shown_traps: dict[str, str] | None

    def b_compgen(self: Interpreter, argv: list[str]) -> int:
        """`compgen`: the candidates bash's completion would offer for WORD, one a line: the
        actions (-A NAME or the letters), -W words (expanded as bash expands them), -G glob,
        then -X filters, -P/-S affixes. Status 1 when there is none."""
        args = argv[1:]
        actions: list[str] = []
        wordlist = glob = filt = None
        prefix = suffix = ""
        while args and args[0].startswith("-") and len(args[0]) > 1:
            a = args.pop(0)
            if a == "--":
                break
            k = 1
            while k < len(a):
                ch = a[k]
                k += 1
                if ch in _ACTIONS:
                    actions.append(_ACTIONS[ch])
                    continue
                if ch not in "AWGXPSFCo":
                    raise CommandError(f"compgen: -{ch}: invalid option\n{_COMPGEN_USAGE}", 2)
                value = a[k:] if k < len(a) else (args.pop(0) if args else None)
                if value is None:
                    raise CommandError(f"compgen: -{ch}: option requires an argument", 2)
                if ch == "A":
                    actions.append(value)
                elif ch == "W":
                    wordlist = value
                elif ch == "G":
                    glob = value
                elif ch == "X":
                    filt = value
                elif ch == "P":
                    prefix = value
                elif ch == "S":
                    suffix = value
                elif ch == "o" and value in ("dirnames", "default", "bashdefault", "plusdirs"):
                    actions.append("directory" if value == "dirnames" else "file")
                break
        word = args[0] if args else ""
        found: list[str] = []
        for action in actions:
            found.extend(c for c in self.compgen_action(action, word) if c.startswith(word))
        if wordlist is not None:
            found.extend(w for w in self.compgen_words(wordlist) if w.startswith(word))
        if glob is not None:
            from bashflow.execute import pattern

            sh = self.state.shopt
            matches = pattern.glob(
                glob, dotglob=sh["dotglob"], extglob=sh["extglob"], nocase=sh["nocaseglob"]
            )
            if "/" not in glob:  # bash lists them unsorted: the directory's order, reversed
                with contextlib.suppress(OSError):
                    order = {e: i for i, e in enumerate(os.listdir("."))}
                    matches.sort(key=lambda m: -order.get(m, -1))
            found.extend(matches)
        if filt is not None:
            from bashflow.execute import pattern

            negate = filt.startswith("!")
            pat = filt[1:] if negate else filt
            ext = self.state.shopt["extglob"]
            found = [c for c in found if pattern.match(pat, c, extglob=ext) == negate]
        if not found:
            return 1
        return self.out("".join(f"{prefix}{c}{suffix}\n" for c in found))

    def compgen_words(self: Interpreter, text: str) -> list[str]:
        """-W's list: the words of `text` after bash's expansions and splitting."""
        from bashflow.errors import ParseError
        from bashflow.parser import parse

        try:
            script = parse(f": {text}\n")
            cmd = script.body.items[0].command.first.commands[0]
        except (ParseError, IndexError):
            return text.split()
        words = getattr(cmd, "words", ())[1:]
        return self.expand_words(list(words)) if words else []

    def compgen_action(self: Interpreter, action: str, word: str) -> list[str]:
        import pwd

        from bashflow.execute.builtins import TABLE
        from bashflow.execute.builtins.flow import SIGNALS
        from bashflow.execute.state import ARRAY, ASSOC, EXPORT, SET_OPTIONS

        st = self.state
        if action == "alias":
            return sorted(st.aliases)
        if action in ("builtin", "enabled", "disabled"):
            names = sorted(TABLE)
            if action == "disabled":
                return [n for n in names if n in self.disabled_builtins]
            return [n for n in names if n not in self.disabled_builtins or action == "builtin"]
        if action == "keyword":
            return list(_KEYWORD_ORDER)
        if action == "function":
            return sorted(st.functions)
        if action in ("variable", "export", "arrayvar"):
            out = []
            for name in sorted(st.iter_names()):
                v = st.lookup(name)
                if v is None or (v.value is None and action != "variable"):
                    continue
                if action == "export" and not v.flags & EXPORT:
                    continue
                if action == "arrayvar" and not v.flags & (ARRAY | ASSOC):
                    continue
                out.append(name)
            return out
        if action == "setopt":
            return sorted(SET_OPTIONS)
        if action == "shopt":
            return sorted(st.shopt)
        if action == "signal":
            return ["SIG" + n for n, _ in sorted(SIGNALS.items(), key=lambda kv: kv[1])]
        if action == "user":
            return [p.pw_name for p in pwd.getpwall()]
        if action in ("file", "directory"):
            return self.compgen_files(word, dirs_only=action == "directory")
        if action == "command":
            names = [*sorted(st.aliases), *sorted(TABLE), *sorted(st.functions)]
            names.extend(_KEYWORD_ORDER)
            for d in (st.get("PATH") or "").split(":"):
                try:
                    entries = os.listdir(d or ".")
                except OSError:
                    continue
                for e in entries:
                    full = os.path.join(d or ".", e)
                    if e.startswith(word) and os.access(full, os.X_OK) and not os.path.isdir(full):
                        names.append(e)
            return names
        if action == "job":
            return []
        return []

    def compgen_files(self: Interpreter, word: str, *, dirs_only: bool) -> list[str]:
        """Names starting with `word`, in directory order (as bash lists them, unsorted)."""
        head, _, tail = word.rpartition("/")
        where = head if head or not word.startswith("/") else "/"
        base = (head + "/") if "/" in word else ""
        try:
            entries = os.listdir(os.path.expanduser(where) if where else ".")
        except OSError:
            return []
        out = []
        for e in entries:
            if not e.startswith(tail) or (e.startswith(".") and not tail.startswith(".")):
                continue
            full = base + e
            if dirs_only and not os.path.isdir(full):
                continue
            out.append(full)
        return out

    def b_caller(self: Interpreter, argv: list[str]) -> int:
        """bash's `caller`: read from the call stack as bash reads its arrays (the frame
        above N gives the function and file, frame N the line)."""
        names, sources, lines = self.frame_lists()
        if len(argv) > 1:
            arg = argv[1]
            if arg.startswith("-") and arg != "-":
                if arg == "--":
                    arg = argv[2] if len(argv) > 2 else ""
                else:
                    self.error(f"caller: {arg[:2]}: invalid option")
                    self.write(2, "caller: usage: caller [expr]\n")
                    return 2
            if arg:
                try:
                    n = int(arg.strip(), 10)
                except ValueError:
                    self.error(f"caller: {arg}: invalid number")
                    self.write(2, "caller: usage: caller [expr]\n")
                    return 2
                if n < 0 or n + 1 >= len(names):
                    return 1
                return self.out(f"{lines[n]} {names[n + 1]} {sources[n + 1]}\n")
        if not sources:
            return 1
        source = sources[1] if len(sources) > 1 else "NULL"
        return self.out(f"{lines[0]} {source}\n")

    def b_times(self: Interpreter, argv: list[str]) -> int:
        t = os.times()

        def fmt(x: float) -> str:
            return f"{int(x // 60)}m{x % 60:.3f}s"

        return self.out(
            f"{fmt(t.user)} {fmt(t.system)}\n{fmt(t.children_user)} {fmt(t.children_system)}\n"
        )

    def b_trap(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        st = self.state
        if args and args[0] == "--":
            args = args[1:]
        elif args and args[0].startswith("-") and args[0] not in ("-", "-l", "-p"):
            raise CommandError(
                f"trap: {args[0]}: invalid option\ntrap: usage: trap [-lp] [[arg] signal_spec ...]",
                2,
            )
        shown = st.traps or self.shown_traps or {}
        if not args or args == ["-p"]:
            lines = [f"trap -- {single_quote(cmd)} {name}\n" for name, cmd in shown.items()]
            return self.out("".join(lines))
        if args[0] == "-l":
            return self.out(signal_table())
        if args[0] == "-p":
            out = []
            for spec in args[1:]:
                name = self.trap_name(spec)
                if name and name in shown:
                    out.append(f"trap -- {single_quote(shown[name])} {name}\n")
            return self.out("".join(out))
        action: str | None = args[0]
        specs = args[1:]
        if (signal_number(args[0]) is not None and not specs) or args[0] == "-":
            action = None
            specs = args[1:] if args[0] == "-" else args
        status = 0
        for spec in specs:
            name = self.trap_name(spec)
            if name is None:
                self.error(f"trap: {spec}: invalid signal specification")
                status = 1
                continue
            self.set_trap(name, action)
        return status

    def trap_name(self: Interpreter, spec: str) -> str | None:
        upper = spec.upper()
        if upper.startswith("SIG"):
            upper = upper[3:]
        if upper in ("EXIT", "ERR", "DEBUG", "RETURN"):
            return upper
        if spec == "0":
            return "EXIT"
        num = signal_number(spec)
        if num is None:
            return None
        if num == 0:
            return "EXIT"
        try:
            return signal.Signals(num).name
        except ValueError:
            return None

    def set_trap(self: Interpreter, name: str, action: str | None) -> None:
        st = self.state
        self.shown_traps = None
        num = SIGNALS.get(name[3:]) if name.startswith("SIG") else None
        if action is None:
            st.traps.pop(name, None)
            if num is not None and num not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(num, signal.SIG_DFL)
            return
        st.traps[name] = action
        self.shown_traps = None
        if name == "RETURN":
            self.return_trap_depth = self.func_depth
        if num is None or num in (signal.SIGKILL, signal.SIGSTOP):
            return
        if action == "":
            signal.signal(num, signal.SIG_IGN)
        else:
            signal.signal(num, self.on_signal)

    def on_signal(self: Interpreter, signum: int, frame: object) -> None:
        self.pending_signals.append(signum)

    def b_getopts(self: Interpreter, argv: list[str]) -> int:
        if len(argv) < 3:
            raise CommandError("\0getopts: usage: getopts optstring name [arg ...]", 2)
        spec, var = argv[1], argv[2]
        st = self.state
        args = argv[3:] if len(argv) > 3 else list(st.positional)
        silent = spec.startswith(":")
        if silent:
            spec = spec[1:]
        try:
            optind = int(st.get("OPTIND") or "1")
        except ValueError:
            optind = 1
        if optind < 1:
            optind = 1
        sub = getattr(self, "_getopts_sub", 1)
        if getattr(self, "_getopts_ind", None) != optind:
            sub = 1
        st.unset("OPTARG") if st.find("OPTARG") is not None else None
        if optind > len(args):
            st.set(var, "?")
            return 1
        arg = args[optind - 1]
        if sub == 1 and (arg == "-" or not arg.startswith("-")):
            st.set(var, "?")
            return 1
        if sub == 1 and arg == "--":
            st.set("OPTIND", str(optind + 1))
            st.set(var, "?")
            return 1
        ch = arg[sub]
        sub += 1
        at_end = sub >= len(arg)
        idx = spec.find(ch) if ch != ":" else -1
        if idx < 0:
            if silent:
                st.set("OPTARG", ch)
            elif st.get("OPTERR") != "0":
                self.write(2, f"{st.arg0}: illegal option -- {ch}\n")
            st.set(var, "?")
        elif idx + 1 < len(spec) and spec[idx + 1] == ":":
            if not at_end:
                st.set("OPTARG", arg[sub:])
                at_end = True
            elif optind < len(args):
                st.set("OPTARG", args[optind])
                optind += 1
            else:
                if silent:
                    st.set("OPTARG", ch)
                    st.set(var, ":")
                else:
                    if st.get("OPTERR") != "0":
                        self.write(2, f"{st.arg0}: option requires an argument -- {ch}\n")
                    st.set(var, "?")
                st.set("OPTIND", str(optind + 1))
                self._getopts_sub = 1
                self._getopts_ind = optind + 1
                return 0
            st.set(var, ch)
        else:
            st.set(var, ch)
        if at_end:
            optind += 1
            sub = 1
        st.set("OPTIND", str(optind))
        self._getopts_sub = sub
        self._getopts_ind = optind
        return 0

    def b_alias(self: Interpreter, argv: list[str]) -> int:
        status = 0
        args = [a for a in argv[1:] if a != "-p"]
        if not args:
            return self.out(
                "".join(
                    f"alias {k}={single_quote(v)}\n" for k, v in sorted(self.state.aliases.items())
                )
            )
        for a in args:
            if "=" in a:
                k, _, v = a.partition("=")
                self.state.aliases[k] = v
            elif a in self.state.aliases:
                self.out(f"alias {a}={single_quote(self.state.aliases[a])}\n")
            else:
                self.error(f"alias: {a}: not found")
                status = 1
        return status

    def b_unalias(self: Interpreter, argv: list[str]) -> int:
        if "-a" in argv:
            self.state.aliases.clear()
            return 0
        status = 0
        for a in argv[1:]:
            if self.state.aliases.pop(a, None) is None:
                self.error(f"unalias: {a}: not found")
                status = 1
        return status

    def b_ulimit(self: Interpreter, argv: list[str]) -> int:
        import resource

        table = {"n": resource.RLIMIT_NOFILE, "u": resource.RLIMIT_NPROC, "s": resource.RLIMIT_STACK,
                 "v": resource.RLIMIT_AS, "f": resource.RLIMIT_FSIZE, "c": resource.RLIMIT_CORE,
                 "t": resource.RLIMIT_CPU, "d": resource.RLIMIT_DATA, "m": resource.RLIMIT_RSS,
                 "l": resource.RLIMIT_MEMLOCK}  # fmt: skip
        letter = "f"
        hard = False
        rest: list[str] = []
        for a in argv[1:]:
            if a.startswith("-") and len(a) > 1:
                for ch in a[1:]:
                    if ch == "H":
                        hard = True
                    elif ch in table:
                        letter = ch
                    elif ch not in "Sa":
                        raise CommandError(f"ulimit: -{ch}: invalid option", 2)
            else:
                rest.append(a)
        res = table[letter]
        scale = 1024 if letter in ("f", "c", "s", "v", "d", "m", "l") else 1
        soft_now, hard_now = resource.getrlimit(res)
        if rest:
            if rest[0] == "unlimited":
                value = resource.RLIM_INFINITY
            elif rest[0].isdigit():
                value = int(rest[0]) * scale
            else:
                raise CommandError(f"ulimit: {rest[0]}: invalid number")
            try:
                if hard:
                    resource.setrlimit(res, (min(soft_now, value), value))
                else:
                    resource.setrlimit(res, (value, hard_now))
            except (ValueError, OSError) as err:
                raise CommandError(f"ulimit: {rest[0]}: cannot modify limit: {err}") from None
            return 0
        current = hard_now if hard else soft_now
        if current == resource.RLIM_INFINITY:
            return self.out("unlimited\n")
        return self.out(f"{current // scale}\n")
