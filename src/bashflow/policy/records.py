"""policy/records.py - `@record`: slotted value classes declared like dataclasses, built cheaply.

`dataclasses` costs a cold `bashflow check` about 6 ms to import (it pulls in `inspect`, `ast`,
`dis`, `tokenize`) and 0.3-0.5 ms per class it builds; this compiles only `__init__` (one
`exec`, about 0.1 ms a class; the other methods are closures over `operator.attrgetter`) and
imports nothing beyond `typing` (the same idea as `parser.syntax.node`). What it generates matches
`@dataclass(slots=True, ...)` for what the policy package uses: an `__init__` in declaration
order with defaults and `field(default_factory=...)`, `__post_init__`, `__eq__` and `__hash__`
over the compared fields (no hash when mutable, as dataclasses do), `__repr__`, `__match_args__`,
ordering with `order=True`, a `__weakref__` slot with `weakref_slot=True`, pickling support,
and frozen instances (setting or deleting an attribute raises `AttributeError`).
`typing.dataclass_transform` lets mypy check constructors and frozenness as for dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
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


def _methods(
    names: tuple[str, ...], compared: tuple[str, ...], shown: tuple[str, ...], order: bool
) -> dict[str, Any]:
    """`__eq__`, `__hash__`, `__repr__`, pickling and ordering as closures over a C
    `attrgetter` (a tuple of the compared fields): no compiling, unlike `__init__`."""

    def tuple_getter(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
        if len(fields) > 1:
            return attrgetter(*fields)  # returns a tuple for two or more names
        return lambda self: tuple(getattr(self, n) for n in fields)

    key = tuple_getter(compared)
    state = tuple_getter(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(key(self))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{self.__class__.__qualname__}({inner})"

    def __getstate__(self: Any) -> list[Any]:
        return list(state(self))

    def __setstate__(self: Any, values: list[Any]) -> None:
        for n, v in zip(names, values, strict=True):
            object.__setattr__(self, n, v)

    out: dict[str, Any] = {
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__repr__": __repr__,
        "__getstate__": __getstate__,
        "__setstate__": __setstate__,
    }
    if order:

        def __lt__(self: Any, other: Any) -> Any:
            return key(self) < key(other) if other.__class__ is self.__class__ else NotImplemented

        def __le__(self: Any, other: Any) -> Any:
            return key(self) <= key(other) if other.__class__ is self.__class__ else NotImplemented

        def __gt__(self: Any, other: Any) -> Any:
            return key(self) > key(other) if other.__class__ is self.__class__ else NotImplemented

        def __ge__(self: Any, other: Any) -> Any:
            return key(self) >= key(other) if other.__class__ is self.__class__ else NotImplemented

        out.update(__lt__=__lt__, __le__=__le__, __gt__=__gt__, __ge__=__ge__)
    return out


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
    src = f"def __init__(self, {', '.join(params)}):\n" + "".join(
        f"    {line}\n" for line in init or ["pass"]
    )
    exec(src, env)  # the one compiled method: construction is the hot path
    compared = tuple(n for n, s in specs.items() if s.compare)
    ns = {k: v for k, v in body.items() if k not in specs and k not in ("__dict__", "__weakref__")}
    ns["__slots__"] = names + (("__weakref__",) if weakref_slot else ())
    ns["__match_args__"] = names
    ns["__init__"] = env["__init__"]
    made = _methods(names, compared, tuple(n for n, s in specs.items() if s.repr), order)
    ns.update(made)
    if not frozen:
        ns["__hash__"] = None  # mutable and compared by value: unhashable, as dataclasses do
    else:
        ns["__setattr__"] = _frozen_setattr
        ns["__delattr__"] = _frozen_delattr
    for k in ("__init__", *made):
        if ns[k] is not None:
            ns[k].__qualname__ = f"{cls.__qualname__}.{k}"
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
