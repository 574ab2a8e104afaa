"""execute/builtins/dirs - `cd`, `pwd`, `pushd`, `popd`, `dirs` (logical paths, as bash)."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bashflow.execute.errors import CommandError

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter


def normalize(path: str) -> str:
    """A logical absolute path with `.` and `..` folded."""
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    lead = "//" if path.startswith("//") and not path.startswith("///") else "/"
    return lead + "/".join(parts)


class DirBuiltins:
    def logical_pwd(self: Interpreter) -> str:
        pwd = self.state.get("PWD")
        if pwd and pwd.startswith("/"):
            try:
                if os.path.samefile(pwd, "."):
                    return pwd
            except OSError:
                pass
        try:
            return os.getcwd()
        except OSError:
            return pwd or "."  # the directory is gone: bash still reports $PWD

    def change_dir(self: Interpreter, target: str, physical: bool, who: str) -> None:
        cur = self.logical_pwd()
        if physical:
            new = target
        else:
            new = normalize(target if target.startswith("/") else cur + "/" + target)
        try:
            os.chdir(new)
        except OSError as err:
            try:
                os.chdir(target)
            except OSError:
                raise CommandError(f"{who}: {target}: {os.strerror(err.errno or 2)}") from None
            new = os.getcwd()
        if physical:
            new = os.getcwd()
        self.state.set("OLDPWD", cur)
        self.state.set("PWD", new)

    def b_cd(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        physical = False
        while args and args[0].startswith("-") and len(args[0]) > 1 and args[0] != "-":
            if args[0] == "--":
                args.pop(0)
                break
            for ch in args[0][1:]:
                if ch == "P":
                    physical = True
                elif ch in "Le@":
                    physical = False
                else:
                    raise CommandError(
                        f"cd: -{ch}: invalid option\ncd: usage: cd [-L|[-P [-e]] [-@]] [dir]", 2
                    )
            args.pop(0)
        if len(args) > 1:
            raise CommandError("cd: too many arguments")
        show = False
        if not args:
            target = self.state.get("HOME")
            if target is None:
                raise CommandError("cd: HOME not set")
        elif args[0] == "-":
            target = self.state.get("OLDPWD")
            if target is None:
                raise CommandError("cd: OLDPWD not set")
            show = True
        else:
            target = args[0]
        if target == "":
            return 0
        if not target.startswith(("/", "./", "../")) and target not in (".", ".."):
            cdpath = self.state.get("CDPATH")
            if cdpath:
                for d in cdpath.split(":"):
                    cand = os.path.join(d or ".", target)
                    if os.path.isdir(cand):
                        target = cand
                        show = bool(d)
                        break
        self.change_dir(target, physical, "cd")
        if show:
            return self.out((self.state.get("PWD") or "") + "\n")
        return 0

    def b_pwd(self: Interpreter, argv: list[str]) -> int:
        physical = "-P" in argv[1:]
        path = os.getcwd() if physical else self.logical_pwd()
        return self.out(path + "\n")

    def dir_stack(self: Interpreter) -> list[str]:
        return [self.logical_pwd(), *self.state.dirstack]

    def show_dirs(self: Interpreter, stack: list[str]) -> str:
        home = self.state.get("HOME") or ""

        def short(p: str) -> str:
            if home and (p == home or p.startswith(home + "/")):
                return "~" + p[len(home) :]
            return p

        return " ".join(short(p) for p in stack) + "\n"

    def b_dirs(self: Interpreter, argv: list[str]) -> int:
        args = argv[1:]
        stack = self.dir_stack()
        for a in args:
            if a[:1] in "+-" and a[1:].isdigit():
                n = int(a[1:])
                k = n if a[0] == "+" else len(stack) - 1 - n
                if not 0 <= k < len(stack):
                    raise CommandError(f"dirs: {a}: directory stack index out of range")
                return self.out(self.show_dirs([stack[k]]))
        if "-c" in args:
            self.state.dirstack = []
            return 0
        if "-p" in args or "-v" in args:
            lines = [f"{i:2d}  {p}" if "-v" in args else p for i, p in enumerate(stack)]
            return self.out("\n".join(lines) + "\n")
        if "-l" in args:
            return self.out(" ".join(stack) + "\n")
        return self.out(self.show_dirs(stack))

    def b_pushd(self: Interpreter, argv: list[str]) -> int:
        args = [a for a in argv[1:] if a != "-n"]
        st = self.state
        if not args:
            if not st.dirstack:
                raise CommandError("pushd: no other directory")
            top = st.dirstack[0]
            st.dirstack[0] = self.logical_pwd()
            self.change_dir(top, False, "pushd")
        elif args[0][:1] in "+-" and args[0][1:].isdigit():
            stack = self.dir_stack()
            n = int(args[0][1:])
            if n >= len(stack):
                raise CommandError(f"pushd: {args[0]}: directory stack index out of range")
            k = n if args[0][0] == "+" else len(stack) - 1 - n
            stack = stack[k:] + stack[:k]
            self.change_dir(stack[0], False, "pushd")
            st.dirstack = stack[1:]
        else:
            cur = self.logical_pwd()
            self.change_dir(args[0], False, "pushd")
            st.dirstack.insert(0, cur)
        return self.out(self.show_dirs(self.dir_stack()))

    def b_popd(self: Interpreter, argv: list[str]) -> int:
        args = [a for a in argv[1:] if a != "-n"]
        st = self.state
        if not st.dirstack:
            raise CommandError("popd: directory stack empty")
        if args and args[0][:1] in "+-" and args[0][1:].isdigit():
            stack = self.dir_stack()
            n = int(args[0][1:])
            k = n if args[0][0] == "+" else len(stack) - 1 - n
            if not 0 <= k < len(stack):
                raise CommandError(f"popd: {args[0]}: directory stack index out of range")
            if k == 0:
                self.change_dir(stack[1], False, "popd")
                st.dirstack = stack[2:]
            else:
                del stack[k]
                st.dirstack = stack[1:]
        else:
            top = st.dirstack.pop(0)
            self.change_dir(top, False, "popd")
        return self.out(self.show_dirs(self.dir_stack()))
