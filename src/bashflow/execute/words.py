"""execute/words - assignments: `name=value`, `name+=value`, `name[key]=value`, array
literals (indexed and associative), temporary assignments before a command, and the
arguments of `declare`-like builtins (expanded as assignments: no splitting)."""

# A mixin of Interpreter: its methods take `self: Interpreter`, which mypy reports as
# "erased type of self is not a supertype of its class" (misc); that is the pattern.
# mypy: disable-error-code="misc"

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bashflow.execute.quoting import quote_trace
from bashflow.execute.state import ASSOC, READONLY
from bashflow.parser import syntax as s

if TYPE_CHECKING:
    from bashflow.execute.interp import Interpreter

_ASSIGN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


class AssignMixin:
    """Assignments (a mixin of `Interpreter`)."""

    def set_var(self: Interpreter, name: str, value: str) -> None:
        self.state.set(name, value)

    def subscript_key(self: Interpreter, name: str, sub: s.Word) -> str:
        text = self.expand_str(sub)
        v = self.state.lookup(name)
        if v is not None and v.flags & ASSOC:
            if text == "":
                from bashflow.execute.errors import ExpansionError

                raise ExpansionError(f"{name}[]: bad array subscript")
            return text
        if not text.strip():
            from bashflow.execute.errors import ExpansionError

            raise ExpansionError(f"{name}[{text}]: bad array subscript")
        return str(self.arith.evaluate(text))

    def assign(self: Interpreter, a: s.Assignment, trace: bool = False) -> None:
        name = a.name
        st = self.state
        op = "+=" if a.append else "="
        if isinstance(a.value, s.ArrayLiteral):
            self.assign_array(name, a.value, a.append)
            if trace:  # bash shows an array literal as written
                self.trace(f"{name}{op}{self.source_text(a.value.span)}")
            return
        value = self.expand_str(a.value)
        if a.subscript is not None:
            key = self.subscript_key(name, a.subscript)
            if trace:
                self.trace(f"{name}[{key}]{op}{quote_trace(value)}")
            st.set_elem(name, key, value, a.append)
            return
        if trace:
            self.trace(f"{name}{op}{quote_trace(value)}")
        st.set(name, value, a.append)

    def array_values(
        self: Interpreter, name: str, lit: s.ArrayLiteral, append: bool, assoc: bool
    ) -> tuple[dict[int, str] | dict[str, str], list[str]]:
        shown: list[str] = []
        if assoc:
            items: dict[str, str] = {}
            pending: str | None = None
            for el in lit.elements:
                if isinstance(el, s.ArrayElement):
                    key = self.expand_str(el.key)
                    val = self.expand_str(el.value)
                    if el.append:
                        val = items.get(key, "") + val
                    items[key] = val
                    shown.append(f"[{key}]={val}")
                    continue
                for w in self.expand_words([el]):
                    if pending is None:
                        pending = w
                    else:
                        items[pending] = w
                        pending = None
                    shown.append(w)
            if pending is not None:
                items[pending] = ""
            return items, shown
        out: dict[int, str] = {}
        idx = 0
        if append:
            cur = self.state.lookup(name)
            if cur is not None and isinstance(cur.value, dict) and cur.value:
                idx = max(cur.value) + 1
            elif cur is not None and isinstance(cur.value, str):
                idx = 1
        for el in lit.elements:
            if isinstance(el, s.ArrayElement):
                ktext = self.expand_str(el.key)
                idx = self.arith.evaluate(ktext)
                val = self.expand_str(el.value)
                if el.append:
                    val = out.get(idx, "") + val
                out[idx] = val
                shown.append(f"[{ktext}]={val}")
                idx += 1
                continue
            for w in self.expand_words([el]):
                out[idx] = w
                shown.append(w)
                idx += 1
        return out, shown

    def assign_array(
        self: Interpreter, name: str, lit: s.ArrayLiteral, append: bool, force_assoc: bool = False
    ) -> list[str]:
        st = self.state
        v = st.lookup(name)
        assoc = force_assoc or (v is not None and bool(v.flags & ASSOC))
        values, shown = self.array_values(name, lit, append, assoc)
        if assoc:
            st.set_assoc(name, values, append)  # type: ignore[arg-type]
        elif append:
            cur = st.lookup(name)
            base: dict[int, str] = {}
            if cur is not None and isinstance(cur.value, dict):
                base = dict(cur.value)
            elif cur is not None and isinstance(cur.value, str):
                base = {0: cur.value}
            base.update(values)  # type: ignore[arg-type]
            st.set_array(name, base)
        else:
            st.set_array(name, values)  # type: ignore[arg-type]
        return shown

    def temp_values(self: Interpreter, assignments: tuple[s.Assignment, ...]) -> dict[str, str]:
        """The values of the plain `NAME=value` words before a command, expanded and traced
        in order. One naming a readonly variable is reported and left out, unexpanded; the
        command still runs (as in bash)."""
        values: dict[str, str] = {}
        trace = self.state.options["xtrace"]
        for a in assignments:
            if isinstance(a.value, s.ArrayLiteral) or a.subscript is not None:
                continue
            v = self.state.lookup(a.name)
            if v is not None and v.flags & READONLY:
                self.error(f"{a.name}: readonly variable")
                continue
            value = self.expand_str(a.value)
            if a.append:
                value = (self.state.get(a.name) or "") + value
            if trace:
                self.trace(f"{a.name}={quote_trace(value)}")
            values[a.name] = value
        return values

    def expand_decl_args(self: Interpreter, words: tuple[s.Word, ...]) -> list[str]:
        """Arguments of declare/local/export/readonly/typeset: assignment-like words are
        expanded without splitting; array literals are kept for the builtin."""
        self.decl_arrays.clear()
        argv = [self.expand_str(words[0])]
        for w in words[1:]:
            parts = w.parts
            first = parts[0] if parts else None
            if isinstance(first, s.Literal) and _ASSIGN_WORD.match(first.text):
                lit = next((p for p in parts if isinstance(p, s.ArrayLiteral)), None)
                if lit is not None and isinstance(parts[-1], s.ArrayLiteral):
                    head = self.expand_str(s.Word(w.span, parts[:-1]))
                    self.decl_arrays[len(argv)] = (head, lit)
                    argv.append(head + self.source_text(lit.span))
                    continue
                argv.append(self.expand_str(w))
                continue
            argv.extend(self.expand_words([w]))
        return argv
