"""parser/syntax - the typed syntax tree: the contract between parse and every later stage.

Every node is an immutable, slotted `Node` (declared like a dataclass) with a `span` (character offsets into the source)
that slices back to exactly the text the node came from. Nodes from inside a backquoted
command substitution whose body needed un-escaping map their spans through the escapes, so
they cover the original (escaped) text.

Word parts (`WordPart`) are what a word is made of; commands (`Command`) are what a list is
made of. Arithmetic (`ArithNode`) and conditional (`CondNode`) sub-languages have their own
node families.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar, Union, dataclass_transform

from bashflow.source import Span

_T = TypeVar("_T")


class Node:
    """Base of every syntax node: immutable, slotted, compared and hashed by value.

    Node classes are declared like dataclasses (annotations, defaults) and built by `@node`;
    it is much cheaper to import than `dataclasses` (which matters: `import bashflow` must
    stay fast) and makes nodes faster to construct. `fields(node)` lists the fields.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot delete {name!r})")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        # Iterative: trees nest thousands deep, and tuple comparison would recurse in C.
        if type(other) is not type(self):
            return NotImplemented
        stack: list[tuple[Any, Any]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if type(a) is not type(b):
                return False
            if isinstance(a, Node):
                stack.extend((getattr(a, f), getattr(b, f)) for f in a._fields)
            elif isinstance(a, tuple):
                if len(a) != len(b):
                    return False
                stack.extend(zip(a, b, strict=True))
            elif a != b:
                return False
        return True

    def __hash__(self) -> int:
        # Shallow (equal nodes have equal kinds and spans), so deep trees hash in O(1).
        return hash((type(self).__name__, getattr(self, "span", None)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"


@dataclass_transform(frozen_default=True)
def node(cls: type[_T]) -> type[_T]:
    """Turn an annotated class body into a slotted, immutable `Node` subclass with an
    `__init__(field, ..., field=default)` in declaration order."""
    body = cls.__dict__
    names = tuple(body.get("__annotations__", {}))
    defaults = {n: body[n] for n in names if n in body}
    params = ", ".join(f"{n}=_d_{n}" if n in defaults else n for n in names)
    lines = "".join(f"    _set(self, {n!r}, {n})\n" for n in names) or "    pass\n"
    env: dict[str, Any] = {"_set": object.__setattr__}
    env.update({f"_d_{n}": v for n, v in defaults.items()})
    exec(f"def __init__(self, {params}):\n{lines}", env)
    ns = {
        k: v for k, v in body.items() if k not in defaults and k not in ("__dict__", "__weakref__")
    }
    ns["__slots__"] = names
    ns["_fields"] = names
    ns["__match_args__"] = names
    ns["__init__"] = env["__init__"]
    bases = cls.__bases__ if cls.__bases__ != (object,) else (Node,)
    new = type(cls.__name__, bases, ns)
    new.__qualname__ = cls.__qualname__
    return new


def fields(n: Node | type[Node]) -> tuple[str, ...]:
    """The field names of a node (or node class), in declaration order."""
    return n._fields


def replace(n: _T, **changes: Any) -> _T:
    """A copy of node `n` with some fields changed."""
    values = {f: getattr(n, f) for f in n._fields}  # type: ignore[attr-defined]
    values.update(changes)
    return type(n)(**values)


def children(n: Node) -> Iterator[Node]:
    """The direct child nodes of `n` (fields that are nodes, or tuples holding nodes)."""
    for f in n._fields:
        value = getattr(n, f)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item
                elif isinstance(item, tuple):  # AndOr.rest: (operator, pipeline) pairs
                    for sub in item:
                        if isinstance(sub, Node):
                            yield sub


def walk(root: Node) -> Iterator[Node]:
    """Every node under `root` (itself included), parents before children, in source
    order; iterative, so arbitrarily deep trees are fine."""
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        kids = list(children(n))
        kids.reverse()
        stack.extend(kids)


# --------------------------------------------------------------------------- words


@node
class Literal:
    """Unquoted literal text. Glob characters (`*?[`) are never inside a Literal (they are
    `Glob` parts); braces, commas and tildes left in a Literal did not form an expansion."""

    span: Span
    text: str


@node
class Escaped:
    """A backslash-escaped character outside quotes (`\\x`); `char` is the character."""

    span: Span
    char: str


@node
class SingleQuoted:
    """`'text'`: taken literally."""

    span: Span
    text: str


@node
class AnsiCQuoted:
    """`$'text'`: `value` is the decoded string (`\\x72` -> `r`, `\\u00e9`, octal, `\\cX`, ...)."""

    span: Span
    value: str


@node
class DoubleQuoted:
    """`"..."`: parts are Literal, Escaped, ParamExpansion and substitutions."""

    span: Span
    parts: tuple[WordPart, ...]


@node
class LocaleQuoted:
    """`$"..."` (translated string); treated like a double-quoted string."""

    span: Span
    parts: tuple[WordPart, ...]


@node
class ParamExpansion:
    """`$name`, `${...}` in every form.

    name       the parameter: identifier, positional digits, or one of `@*#?-$!0`
    braced     written with braces
    length     `${#name}`
    indirect   `${!name}` (also `${!a[@]}`, whose op is None and subscript `@`/`*`)
    subscript  `${a[sub]}`: the subscript as a word (arithmetic for indexed arrays, a key for
               associative ones: bash decides at run time)
    op         None, or one of `:-` `-` `:=` `=` `:?` `?` `:+` `+` `#` `##` `%` `%%` `/` `//`
               `/#` `/%` `^` `^^` `,` `,,` `~` `~~` (case toggle) `:` (substring) `@`
               (transform), or `!*` / `!@`
               for `${!prefix*}` / `${!prefix@}`
    arg        the operator's word (default, pattern, offset, transform letter, ...)
    arg2       the second word: replacement for `/`-forms, length for `${x:off:len}`
    """

    span: Span
    name: str
    braced: bool = False
    length: bool = False
    indirect: bool = False
    subscript: Word | None = None
    op: str | None = None
    arg: Word | None = None
    arg2: Word | None = None


@node
class CommandSub:
    """`$(list)` or `` `list` ``."""

    span: Span
    body: CommandList
    backquoted: bool = False


@node
class ArithSub:
    """`$(( expr ))` (also the legacy `$[ expr ]`)."""

    span: Span
    arith: Arith


@node
class ProcessSub:
    """`<(list)` or `>(list)`."""

    span: Span
    direction: str
    body: CommandList


@node
class BadSubstitution:
    """Expansion text bash accepts when parsing but fails on when it expands it, so it is
    not a syntax error of the script: a malformed `${...}` ("bad substitution"), and inside
    here-doc bodies (which bash parses only when it expands them) an unclosed `${` or a
    `$( )` / backquoted command that does not parse. `error` is what bash will report."""

    span: Span
    text: str
    error: str = "bad substitution"


@node
class Glob:
    """An unquoted pattern character: `*`, `?`, or a bracket expression `[...]`."""

    span: Span
    text: str


@node
class ExtGlob:
    """`@(a|b)`, `*(..)`, `+(..)`, `?(..)`, `!(..)`: op is the leading character."""

    span: Span
    op: str
    patterns: tuple[Word, ...]


@node
class BraceExpansion:
    """`{a,b,c}`: each alternative is a word (possibly empty)."""

    span: Span
    alternatives: tuple[Word, ...]


@node
class BraceRange:
    """`{1..10..2}` or `{a..z}`: start, end and optional step as written."""

    span: Span
    start: str
    end: str
    step: str | None = None


@node
class Tilde:
    """`~`, `~user`, `~+`, `~-`, `~+N`: `user` is the text after the tilde."""

    span: Span
    user: str


@node
class ArrayLiteral:
    """`(a b [k]=v)`: the value of an array assignment. Elements of the form `[k]=v` are
    `ArrayElement`s, others plain words."""

    span: Span
    elements: tuple[Word | ArrayElement, ...]


@node
class ArrayElement:
    """`[key]=value` or `[key]+=value` inside an array literal."""

    span: Span
    key: Word
    value: Word
    append: bool = False


WordPart = Union[  # noqa: UP007 - a runtime alias used in isinstance-free dispatch tables
    Literal,
    Escaped,
    SingleQuoted,
    AnsiCQuoted,
    DoubleQuoted,
    LocaleQuoted,
    ParamExpansion,
    CommandSub,
    ArithSub,
    ProcessSub,
    BadSubstitution,
    Glob,
    ExtGlob,
    BraceExpansion,
    BraceRange,
    Tilde,
    ArrayLiteral,
]


@node
class Word:
    """A shell word: a sequence of parts with no unquoted blank between them."""

    span: Span
    parts: tuple[WordPart, ...]


# --------------------------------------------------------------------------- arithmetic


@node
class ArithNumber:
    """An integer constant as written (`42`, `0x1f`, `017`, `2#101`, `64#@_`)."""

    span: Span
    text: str


@node
class ArithVar:
    """A variable, with an optional subscript expression (`a[i+1]`)."""

    span: Span
    name: str
    subscript: ArithNode | None = None


@node
class ArithWord:
    """An operand that is only known after expansion (`$x`, `${a[1]}`, `$(cmd)`, `"3"`...).

    bash expands these and then parses the result as arithmetic."""

    span: Span
    word: Word


@node
class ArithUnary:
    """Prefix operator: `-` `+` `!` `~` `++` `--`."""

    span: Span
    op: str
    operand: ArithNode


@node
class ArithPostfix:
    """Postfix `++` / `--`."""

    span: Span
    op: str
    operand: ArithNode


@node
class ArithBinary:
    span: Span
    op: str
    left: ArithNode
    right: ArithNode


@node
class ArithAssign:
    """`=`, `+=`, `-=`, `*=`, `/=`, `%=`, `<<=`, `>>=`, `&=`, `^=`, `|=`."""

    span: Span
    op: str
    target: ArithNode
    value: ArithNode


@node
class ArithTernary:
    span: Span
    cond: ArithNode
    then: ArithNode
    otherwise: ArithNode


@node
class ArithComma:
    span: Span
    items: tuple[ArithNode, ...]


@node
class ArithGroup:
    span: Span
    expr: ArithNode


ArithNode = Union[  # noqa: UP007
    ArithNumber,
    ArithVar,
    ArithWord,
    ArithUnary,
    ArithPostfix,
    ArithBinary,
    ArithAssign,
    ArithTernary,
    ArithComma,
    ArithGroup,
]


@node
class Arith:
    """An arithmetic expression as found in `$(( ))`, `(( ))`, `for (( ;; ))`.

    bash does not parse arithmetic until it evaluates it, so text that is not a valid
    expression is not a syntax error of the script: `expr` is then None and `error` says
    what bash will report when (and if) the expression is evaluated. `raw` is the text as
    written. When `expr` is None, `word` is that text as a word, so the substitutions bash
    still expands (and runs) before the evaluation fails stay in the tree; otherwise they are
    the `ArithWord` operands of `expr` and `word` is None.
    """

    span: Span
    raw: str
    expr: ArithNode | None
    error: str | None = None
    word: Word | None = None


# --------------------------------------------------------------------------- [[ ]]


@node
class CondWord:
    """A lone word: true when non-empty (`[[ $x ]]`)."""

    span: Span
    word: Word


@node
class CondUnary:
    """`-f file`, `-z str`, `-v name`, ...: op includes the dash."""

    span: Span
    op: str
    operand: Word


@node
class CondBinary:
    """`==` `=` `!=` (right side a pattern), `=~` (right side a regex), `<` `>`, `-eq` ...,
    `-nt` `-ot` `-ef`."""

    span: Span
    op: str
    left: Word
    right: Word


@node
class CondNot:
    span: Span
    operand: CondNode


@node
class CondAnd:
    span: Span
    left: CondNode
    right: CondNode


@node
class CondOr:
    span: Span
    left: CondNode
    right: CondNode


@node
class CondGroup:
    span: Span
    expr: CondNode


CondNode = Union[CondWord, CondUnary, CondBinary, CondNot, CondAnd, CondOr, CondGroup]  # noqa: UP007

# --------------------------------------------------------------------------- commands


@node
class HereDoc:
    """The body of a `<<` / `<<-` redirection.

    delimiter   the delimiter after quote removal
    quoted      any part of the delimiter was quoted: the body is taken literally
    strip_tabs  `<<-`: leading tabs are removed from body lines and the delimiter line
    body        the body as a word (literal when quoted; with expansions otherwise); its span
                covers exactly the body text, from after the redirection's line to before
                the delimiter line
    terminated  False when the file ended before the delimiter line: bash then takes the
                rest of the file as the body and warns ("here-document at line N delimited
                by end-of-file")
    """

    span: Span
    delimiter: str
    quoted: bool
    strip_tabs: bool
    body: Word
    terminated: bool = True


@node
class Redirect:
    """One redirection.

    op      `<` `>` `>>` `>|` `<>` `&>` `&>>` `>&` `<&` `<<` `<<-` `<<<`
    fd      the explicit file descriptor number (`2>`), or None for the default
    fd_var  `{name}>file`: bash allocates an fd and stores it in `name`
    target  the file / fd word (`-` closes for `>&-`), or the HereDoc for `<<` and `<<-`
    """

    span: Span
    op: str
    target: Word | HereDoc
    fd: int | None = None
    fd_var: str | None = None


@node
class Assignment:
    """`name=value`, `name+=value`, `name[sub]=value`, `name=(array)`."""

    span: Span
    name: str
    value: Word | ArrayLiteral
    subscript: Word | None = None
    append: bool = False


@node
class SimpleCommand:
    """Assignments, then words (the first is the command name), with redirections
    (bash allows them anywhere; their relative order is kept)."""

    span: Span
    assignments: tuple[Assignment, ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


@node
class BraceGroup:
    span: Span
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@node
class Subshell:
    span: Span
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@node
class IfClause:
    """One `if`/`elif` condition and its `then` body."""

    span: Span
    condition: CommandList
    body: CommandList


@node
class If:
    span: Span
    clauses: tuple[IfClause, ...]
    else_body: CommandList | None = None
    redirects: tuple[Redirect, ...] = ()


@node
class While:
    """`while` loop, or `until` when `until` is true."""

    span: Span
    condition: CommandList
    body: CommandList
    until: bool = False
    redirects: tuple[Redirect, ...] = ()


@node
class For:
    """`for name [in words]; do ...; done`; words None means `in "$@"`."""

    span: Span
    name: str
    words: tuple[Word, ...] | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@node
class Select:
    """`select name [in words]; do ...; done`."""

    span: Span
    name: str
    words: tuple[Word, ...] | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@node
class ArithFor:
    """`for (( init; cond; step )); do ...; done`: empty parts are None."""

    span: Span
    init: Arith | None
    condition: Arith | None
    step: Arith | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@node
class CaseItem:
    """`pat1 | pat2) body ;;` with terminator `;;`, `;&`, `;;&` (or "" for the last item)."""

    span: Span
    patterns: tuple[Word, ...]
    body: CommandList | None
    terminator: str


@node
class Case:
    span: Span
    word: Word
    items: tuple[CaseItem, ...]
    redirects: tuple[Redirect, ...] = ()


@node
class CondCommand:
    """`[[ expression ]]`."""

    span: Span
    expr: CondNode
    redirects: tuple[Redirect, ...] = ()


@node
class ArithCommand:
    """`(( expression ))`."""

    span: Span
    arith: Arith
    redirects: tuple[Redirect, ...] = ()


@node
class FunctionDef:
    """`name() body`, `function name body`, `function name() body`.

    style is `posix` (`f()`), `keyword` (`function f`) or `keyword-parens` (`function f()`).
    The body is a compound command; its redirections apply to every call.
    """

    span: Span
    name: str
    body: Command
    style: str = "posix"


@node
class Coproc:
    """`coproc [NAME] command`: name is None for the default `COPROC`."""

    span: Span
    name: str | None
    body: Command


Command = Union[  # noqa: UP007
    SimpleCommand,
    BraceGroup,
    Subshell,
    If,
    While,
    For,
    Select,
    ArithFor,
    Case,
    CondCommand,
    ArithCommand,
    FunctionDef,
    Coproc,
]


@node
class Pipeline:
    """`[time [-p]] [!] cmd1 | cmd2 |& cmd3`.

    ops[i] joins commands[i] and commands[i+1] (`|` or `|&`). `negated` counts as bash does
    (`! ! x` is not negated); `timed` is None, `time` or `time -p`.
    """

    span: Span
    commands: tuple[Command, ...]
    ops: tuple[str, ...] = ()
    negated: bool = False
    timed: str | None = None


@node
class AndOr:
    """`p1 && p2 || p3`: rest pairs each operator with the pipeline after it."""

    span: Span
    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()


@node
class ListItem:
    """One and-or list with its terminator: `;`, `&` (run in the background), `\\n`, or ""."""

    span: Span
    command: AndOr
    terminator: str = ""

    @property
    def background(self) -> bool:
        return self.terminator == "&"


@node
class CommandList:
    span: Span
    items: tuple[ListItem, ...]


@node
class Script:
    """A whole script. `body` holds every top-level command in order."""

    span: Span
    body: CommandList
    filename: str = "<string>"


AnyNode = Union[  # noqa: UP007
    Script,
    CommandList,
    ListItem,
    AndOr,
    Pipeline,
    Command,
    IfClause,
    CaseItem,
    Redirect,
    HereDoc,
    Assignment,
    Word,
    WordPart,
    ArrayElement,
    Arith,
    ArithNode,
    CondNode,
]

COMPOUND_TYPES = (
    BraceGroup,
    Subshell,
    If,
    While,
    For,
    Select,
    ArithFor,
    Case,
    CondCommand,
    ArithCommand,
)
