"""parse/syntax - the typed syntax tree: the contract between parse and every later stage.

Every node is a frozen, slotted dataclass with a `span` (character offsets into the source)
that slices back to exactly the text the node came from. Nodes from inside a backquoted
command substitution whose body needed un-escaping map their spans through the escapes, so
they cover the original (escaped) text.

Word parts (`WordPart`) are what a word is made of; commands (`Command`) are what a list is
made of. Arithmetic (`ArithNode`) and conditional (`CondNode`) sub-languages have their own
node families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from bashflow.source import Span

# --------------------------------------------------------------------------- words


@dataclass(frozen=True, slots=True)
class Literal:
    """Unquoted literal text. Glob characters (`*?[`) are never inside a Literal (they are
    `Glob` parts); braces, commas and tildes left in a Literal did not form an expansion."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Escaped:
    """A backslash-escaped character outside quotes (`\\x`); `char` is the character."""

    span: Span
    char: str


@dataclass(frozen=True, slots=True)
class SingleQuoted:
    """`'text'`: taken literally."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class AnsiCQuoted:
    """`$'text'`: `value` is the decoded string (`\\x72` -> `r`, `\\u00e9`, octal, `\\cX`, ...)."""

    span: Span
    value: str


@dataclass(frozen=True, slots=True)
class DoubleQuoted:
    """`"..."`: parts are Literal, Escaped, ParamExpansion and substitutions."""

    span: Span
    parts: tuple[WordPart, ...]


@dataclass(frozen=True, slots=True)
class LocaleQuoted:
    """`$"..."` (translated string); treated like a double-quoted string."""

    span: Span
    parts: tuple[WordPart, ...]


@dataclass(frozen=True, slots=True)
class ParamExpansion:
    """`$name`, `${...}` in every form.

    name       the parameter: identifier, positional digits, or one of `@*#?-$!0`
    braced     written with braces
    length     `${#name}`
    indirect   `${!name}` (also `${!a[@]}`, whose op is None and subscript `@`/`*`)
    subscript  `${a[sub]}`: the subscript as a word (arithmetic for indexed arrays, a key for
               associative ones: bash decides at run time)
    op         None, or one of `:-` `-` `:=` `=` `:?` `?` `:+` `+` `#` `##` `%` `%%` `/` `//`
               `/#` `/%` `^` `^^` `,` `,,` `:` (substring) `@` (transform), or `!*` / `!@`
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


@dataclass(frozen=True, slots=True)
class CommandSub:
    """`$(list)` or `` `list` ``. `body` is None only inside here-doc bodies, where bash
    itself parses the substitution at expansion time; `error` then says why it failed."""

    span: Span
    body: CommandList | None
    backquoted: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ArithSub:
    """`$(( expr ))` (also the legacy `$[ expr ]`)."""

    span: Span
    arith: Arith


@dataclass(frozen=True, slots=True)
class ProcessSub:
    """`<(list)` or `>(list)`."""

    span: Span
    direction: str
    body: CommandList


@dataclass(frozen=True, slots=True)
class BadSubstitution:
    """`${...}` text that is not a valid expansion. bash accepts it when parsing and fails
    with "bad substitution" only when it expands it, so it is not a syntax error here."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Glob:
    """An unquoted pattern character: `*`, `?`, or a bracket expression `[...]`."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class ExtGlob:
    """`@(a|b)`, `*(..)`, `+(..)`, `?(..)`, `!(..)`: op is the leading character."""

    span: Span
    op: str
    patterns: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class BraceExpansion:
    """`{a,b,c}`: each alternative is a word (possibly empty)."""

    span: Span
    alternatives: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class BraceRange:
    """`{1..10..2}` or `{a..z}`: start, end and optional step as written."""

    span: Span
    start: str
    end: str
    step: str | None = None


@dataclass(frozen=True, slots=True)
class Tilde:
    """`~`, `~user`, `~+`, `~-`, `~+N`: `user` is the text after the tilde."""

    span: Span
    user: str


@dataclass(frozen=True, slots=True)
class ArrayLiteral:
    """`(a b [k]=v)`: the value of an array assignment. Elements of the form `[k]=v` are
    `ArrayElement`s, others plain words."""

    span: Span
    elements: tuple[Word | ArrayElement, ...]


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Word:
    """A shell word: a sequence of parts with no unquoted blank between them."""

    span: Span
    parts: tuple[WordPart, ...]


# --------------------------------------------------------------------------- arithmetic


@dataclass(frozen=True, slots=True)
class ArithNumber:
    """An integer constant as written (`42`, `0x1f`, `017`, `2#101`, `64#@_`)."""

    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class ArithVar:
    """A variable, with an optional subscript expression (`a[i+1]`)."""

    span: Span
    name: str
    subscript: ArithNode | None = None


@dataclass(frozen=True, slots=True)
class ArithWord:
    """An operand that is only known after expansion (`$x`, `${a[1]}`, `$(cmd)`, `"3"`...).

    bash expands these and then parses the result as arithmetic."""

    span: Span
    word: Word


@dataclass(frozen=True, slots=True)
class ArithUnary:
    """Prefix operator: `-` `+` `!` `~` `++` `--`."""

    span: Span
    op: str
    operand: ArithNode


@dataclass(frozen=True, slots=True)
class ArithPostfix:
    """Postfix `++` / `--`."""

    span: Span
    op: str
    operand: ArithNode


@dataclass(frozen=True, slots=True)
class ArithBinary:
    span: Span
    op: str
    left: ArithNode
    right: ArithNode


@dataclass(frozen=True, slots=True)
class ArithAssign:
    """`=`, `+=`, `-=`, `*=`, `/=`, `%=`, `<<=`, `>>=`, `&=`, `^=`, `|=`."""

    span: Span
    op: str
    target: ArithNode
    value: ArithNode


@dataclass(frozen=True, slots=True)
class ArithTernary:
    span: Span
    cond: ArithNode
    then: ArithNode
    otherwise: ArithNode


@dataclass(frozen=True, slots=True)
class ArithComma:
    span: Span
    items: tuple[ArithNode, ...]


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Arith:
    """An arithmetic expression as found in `$(( ))`, `(( ))`, `for (( ;; ))`.

    bash does not parse arithmetic until it evaluates it, so text that is not a valid
    expression is not a syntax error of the script: `expr` is then None and `error` says
    what bash will report when (and if) the expression is evaluated. `raw` is the text as
    written; `word` holds the substitutions inside it (expanded before evaluation).
    """

    span: Span
    raw: str
    expr: ArithNode | None
    error: str | None = None


# --------------------------------------------------------------------------- [[ ]]


@dataclass(frozen=True, slots=True)
class CondWord:
    """A lone word: true when non-empty (`[[ $x ]]`)."""

    span: Span
    word: Word


@dataclass(frozen=True, slots=True)
class CondUnary:
    """`-f file`, `-z str`, `-v name`, ...: op includes the dash."""

    span: Span
    op: str
    operand: Word


@dataclass(frozen=True, slots=True)
class CondBinary:
    """`==` `=` `!=` (right side a pattern), `=~` (right side a regex), `<` `>`, `-eq` ...,
    `-nt` `-ot` `-ef`."""

    span: Span
    op: str
    left: Word
    right: Word


@dataclass(frozen=True, slots=True)
class CondNot:
    span: Span
    operand: CondNode


@dataclass(frozen=True, slots=True)
class CondAnd:
    span: Span
    left: CondNode
    right: CondNode


@dataclass(frozen=True, slots=True)
class CondOr:
    span: Span
    left: CondNode
    right: CondNode


@dataclass(frozen=True, slots=True)
class CondGroup:
    span: Span
    expr: CondNode


CondNode = Union[CondWord, CondUnary, CondBinary, CondNot, CondAnd, CondOr, CondGroup]  # noqa: UP007

# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class HereDoc:
    """The body of a `<<` / `<<-` redirection.

    delimiter   the delimiter after quote removal
    quoted      any part of the delimiter was quoted: the body is taken literally
    strip_tabs  `<<-`: leading tabs are removed from body lines and the delimiter line
    body        the body as a word (literal when quoted; with expansions otherwise); its span
                covers exactly the body text, from after the redirection's line to before
                the delimiter line
    """

    span: Span
    delimiter: str
    quoted: bool
    strip_tabs: bool
    body: Word


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Assignment:
    """`name=value`, `name+=value`, `name[sub]=value`, `name=(array)`."""

    span: Span
    name: str
    value: Word | ArrayLiteral
    subscript: Word | None = None
    append: bool = False


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """Assignments, then words (the first is the command name), with redirections
    (bash allows them anywhere; their relative order is kept)."""

    span: Span
    assignments: tuple[Assignment, ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


@dataclass(frozen=True, slots=True)
class BraceGroup:
    span: Span
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Subshell:
    span: Span
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class IfClause:
    """One `if`/`elif` condition and its `then` body."""

    span: Span
    condition: CommandList
    body: CommandList


@dataclass(frozen=True, slots=True)
class If:
    span: Span
    clauses: tuple[IfClause, ...]
    else_body: CommandList | None = None
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class While:
    """`while` loop, or `until` when `until` is true."""

    span: Span
    condition: CommandList
    body: CommandList
    until: bool = False
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class For:
    """`for name [in words]; do ...; done`; words None means `in "$@"`."""

    span: Span
    name: str
    words: tuple[Word, ...] | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class Select:
    """`select name [in words]; do ...; done`."""

    span: Span
    name: str
    words: tuple[Word, ...] | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class ArithFor:
    """`for (( init; cond; step )); do ...; done`: empty parts are None."""

    span: Span
    init: Arith | None
    condition: Arith | None
    step: Arith | None
    body: CommandList
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseItem:
    """`pat1 | pat2) body ;;` with terminator `;;`, `;&`, `;;&` (or "" for the last item)."""

    span: Span
    patterns: tuple[Word, ...]
    body: CommandList | None
    terminator: str


@dataclass(frozen=True, slots=True)
class Case:
    span: Span
    word: Word
    items: tuple[CaseItem, ...]
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class CondCommand:
    """`[[ expression ]]`."""

    span: Span
    expr: CondNode
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class ArithCommand:
    """`(( expression ))`."""

    span: Span
    arith: Arith
    redirects: tuple[Redirect, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionDef:
    """`name() body`, `function name body`, `function name() body`.

    style is `posix` (`f()`), `keyword` (`function f`) or `keyword-parens` (`function f()`).
    The body is a compound command; its redirections apply to every call.
    """

    span: Span
    name: str
    body: Command
    style: str = "posix"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class AndOr:
    """`p1 && p2 || p3`: rest pairs each operator with the pipeline after it."""

    span: Span
    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...] = ()


@dataclass(frozen=True, slots=True)
class ListItem:
    """One and-or list with its terminator: `;`, `&` (run in the background), `\\n`, or ""."""

    span: Span
    command: AndOr
    terminator: str = ""

    @property
    def background(self) -> bool:
        return self.terminator == "&"


@dataclass(frozen=True, slots=True)
class CommandList:
    span: Span
    items: tuple[ListItem, ...]


@dataclass(frozen=True, slots=True)
class Script:
    """A whole script. `body` holds every top-level command in order."""

    span: Span
    body: CommandList
    filename: str = "<string>"


Node = Union[  # noqa: UP007
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
