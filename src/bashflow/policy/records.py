"""policy/records.py - `@record`: slotted value classes declared like dataclasses, built cheaply.

`dataclasses` costs a cold `bashflow check` about 6 ms to import (it pulls in `inspect`, `ast`,
`dis`, `tokenize`) and 0.3-0.5 ms per class it builds; this builds a class with one `exec` and
no imports beyond `typing` (the same idea as `parser.syntax.node`). What it generates matches
`@dataclass(slots=True, ...)` for what the policy package uses: an `__init__` in declaration
order with defaults and `field(default_factory=...)`, `__post_init__`, `__eq__` and `__hash__`
over the compared fields (no hash when mutable, as dataclasses do), `__repr__`, `__match_args__`,
ordering with `order=True`, a `__weakref__` slot with `weakref_slot=True`, pickling support,
and frozen instances (setting or deleting an attribute raises `AttributeError`).
`typing.dataclass_transform` lets mypy check constructors and frozenness as for dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class _FieldSpec:
    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(self, default: Any, default_factory: Any, compare: bool, repr: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr


@overload
def field(*, default: _T, compare: bool = True, repr: bool = True) -> _T: ...


@overload
def field(*, default_factory: Callable[[], _T], compare: bool = True, repr: bool = True) -> _T: ...


@overload
def field(*, compare: bool = True, repr: bool = True) -> Any: ...


def field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field's default (or default factory) and whether it takes part in `==`/hash/repr."""
    if default is not _MISSING and default_factory is not _MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _FieldSpec(default, default_factory, compare, repr)


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"{type(self).__name__} is frozen (cannot assign to field {name!r})")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"{type(self).__name__} is frozen (cannot delete field {name!r})")


def _build(cls: type[_T], frozen: bool, order: bool, weakref_slot: bool) -> type[_T]:
    body = cls.__dict__
    names = tuple(body.get("__annotations__", {}))
    specs: dict[str, _FieldSpec] = {}
    for n in names:
        v = body.get(n, _MISSING)
        specs[n] = v if isinstance(v, _FieldSpec) else _FieldSpec(v, _MISSING, True, True)
    env: dict[str, Any] = {"_set": object.__setattr__, "_FACTORY": _MISSING}
    params = []
    init = []
    for n, spec in specs.items():
        if spec.default_factory is not _MISSING:
            env[f"_f_{n}"] = spec.default_factory
            params.append(f"{n}=_FACTORY")
            value = f"_f_{n}() if {n} is _FACTORY else {n}"
        else:
            if spec.default is not _MISSING:
                env[f"_d_{n}"] = spec.default
                params.append(f"{n}=_d_{n}")
            else:
                params.append(n)
            value = n
        init.append(f"_set(self, {n!r}, {value})" if frozen else f"self.{n} = {value}")
    # A field without a default after one with a default is a TypeError, as in dataclasses.
    seen_default = False
    for n, spec in specs.items():
        has = spec.default is not _MISSING or spec.default_factory is not _MISSING
        if seen_default and not has:
            raise TypeError(f"non-default argument {n!r} follows default argument")
        seen_default = seen_default or has
    if "__post_init__" in body:
        init.append("self.__post_init__()")
    compared = [n for n, s in specs.items() if s.compare]
    own = "(" + "".join(f"self.{n}, " for n in compared) + ")"
    other = "(" + "".join(f"other.{n}, " for n in compared) + ")"
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n, s in specs.items() if s.repr)
    src = [
        f"def __init__(self, {', '.join(params)}):",
        *(f"    {line}" for line in init or ["pass"]),
        "def __eq__(self, other):",
        "    if other.__class__ is self.__class__:",
        f"        return {own} == {other}",
        "    return NotImplemented",
        "def __hash__(self):",
        f"    return hash({own})",
        "def __repr__(self):",
        f"    return f'{{self.__class__.__qualname__}}({shown})'",
        "def __getstate__(self):",
        f"    return [{', '.join(f'self.{n}' for n in names)}]",
        "def __setstate__(self, state):",
        "    for name, value in zip(_names, state):",
        "        _set(self, name, value)",
    ]
    if order:
        for op, name in (("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge")):
            src += [
                f"def __{name}__(self, other):",
                "    if other.__class__ is self.__class__:",
                f"        return {own} {op} {other}",
                "    return NotImplemented",
            ]
    env["_names"] = names
    exec("\n".join(src) + "\n", env)
    ns = {k: v for k, v in body.items() if k not in specs and k not in ("__dict__", "__weakref__")}
    ns["__slots__"] = names + (("__weakref__",) if weakref_slot else ())
    ns["__match_args__"] = names
    for fn in ("__init__", "__eq__", "__repr__", "__getstate__", "__setstate__"):
        ns[fn] = env[fn]
    ns["__hash__"] = env["__hash__"] if frozen else None
    if order:
        for fn in ("__lt__", "__le__", "__gt__", "__ge__"):
            ns[fn] = env[fn]
    if frozen:
        ns["__setattr__"] = _frozen_setattr
        ns["__delattr__"] = _frozen_delattr
    for fn in ("__init__", "__eq__", "__repr__", "__hash__"):
        if ns.get(fn) is not None:
            ns[fn].__qualname__ = f"{cls.__qualname__}.{fn}"
    new = type(cls.__name__, cls.__bases__, ns)
    new.__qualname__ = cls.__qualname__
    return new


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(
    *, frozen: bool = True, order: bool = False, weakref_slot: bool = False
) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(
    cls: type[_T] | None = None,
    /,
    *,
    frozen: bool = True,
    order: bool = False,
    weakref_slot: bool = False,
) -> Any:
    """Build an annotated class body into a slotted value class (frozen unless `frozen=False`)."""
    if cls is not None:
        return _build(cls, True, False, False)

    def wrap(c: type[_T]) -> type[_T]:
        return _build(c, frozen, order, weakref_slot)

    return wrap
