"""The parser on each construct of bash 5.2: exact tree shapes, spans and values."""

from __future__ import annotations

from typing import Any

import pytest

import bashflow
from bashflow.parser import syntax as s


def tree(text: str) -> s.Script:
    return bashflow.parse(text)


def first(text: str) -> s.Command:
    script = tree(text)
    return script.body.items[0].command.first.commands[0]


def simple(text: str) -> s.SimpleCommand:
    cmd = first(text)
    assert isinstance(cmd, s.SimpleCommand), cmd
    return cmd


def src(text: str, node: Any) -> str:
    return text[node.span.start : node.span.end]


def word_texts(text: str) -> list[str]:
    return [src(text, w) for w in simple(text).words]


def kinds(word: s.Word) -> list[str]:
    return [type(p).__name__ for p in word.parts]


# --------------------------------------------------------------------------- simple commands


def test_simple_command_words_assignments_redirects() -> None:
    text = "A=1 B+=two cmd -x 'a b' >out 2>>err <in"
    cmd = simple(text)
    assert [a.name for a in cmd.assignments] == ["A", "B"]
    assert cmd.assignments[1].append
    assert word_texts(text) == ["cmd", "-x", "'a b'"]
    assert [(r.fd, r.op) for r in cmd.redirects] == [(None, ">"), (2, ">>"), (None, "<")]
    assert src(text, cmd) == text


def test_redirect_forms() -> None:
    text = "cmd >|f <>f &>f &>>f 3>&1 4<&0 5>&- {fd}>f <<<here"
    cmd = simple(text)
    assert [r.op for r in cmd.redirects] == [">|", "<>", "&>", "&>>", ">&", "<&", ">&", ">", "<<<"]
    assert cmd.redirects[4].fd == 3 and src(text, cmd.redirects[4].target) == "1"
    assert src(text, cmd.redirects[6].target) == "-"
    assert cmd.redirects[7].fd_var == "fd"


def test_fd_variable_may_be_an_array_element() -> None:
    # bash takes `{NAME[SUBSCRIPT]}` before a redirection operator as well (valid_array_reference)
    text = "exec {CAT[1]}>&- {fds[$i+1]}<f {a}>g"
    cmd = simple(text)
    assert [r.fd_var for r in cmd.redirects] == ["CAT[1]", "fds[$i+1]", "a"]
    assert word_texts(text) == ["exec"]
    for word in ("{1a}>f", "{a[]}>f", "{a b}>f", "{a[1]x}>f"):
        # not a name or element: a word, as bash reads it
        c = simple(f"echo {word}")
        assert all(r.fd_var is None for r in c.redirects), word


def test_digits_not_followed_by_redirect_are_a_word() -> None:
    text = "echo a2>f 22 >g"
    cmd = simple(text)
    assert word_texts(text) == ["echo", "a2", "22"]
    assert [r.fd for r in cmd.redirects] == [None, None]


def test_comments_and_continuations() -> None:
    text = "echo a \\\n  b # a comment\necho c#notcomment"
    script = tree(text)
    assert len(script.body.items) == 2
    assert word_texts("echo a \\\n  b # x") == ["echo", "a", "b"]
    w = simple("echo c#d").words[1]
    assert w.parts == (s.Literal(w.parts[0].span, "c#d"),)


# --------------------------------------------------------------------------- lists, pipelines


def test_lists_and_background() -> None:
    script = tree("a; b & c && d || e\nf")
    items = script.body.items
    assert [i.terminator for i in items] == [";", "&", "\n", ""]
    assert items[1].background
    assert [op for op, _ in items[2].command.rest] == ["&&", "||"]


def test_pipelines_negation_time() -> None:
    p = tree("time -p ! a | b |& c").body.items[0].command.first
    assert p.timed == "time -p" and p.negated and p.ops == ("|", "|&")
    assert len(p.commands) == 3
    assert not tree("! ! true").body.items[0].command.first.negated
    bare = tree("time").body.items[0].command.first
    assert bare.timed == "time" and bare.commands == ()


def test_newline_after_pipe_and_andand() -> None:
    script = tree("a |\n b &&\n\n c")
    ao = script.body.items[0].command
    assert len(ao.first.commands) == 2 and len(ao.rest) == 1


# --------------------------------------------------------------------------- compound commands


def test_if_elif_else() -> None:
    cmd = first("if a; then b; elif c; then d; else e; fi >log")
    assert isinstance(cmd, s.If)
    assert len(cmd.clauses) == 2 and cmd.else_body is not None
    assert [r.op for r in cmd.redirects] == [">"]


def test_loops() -> None:
    w = first("while a; do b; done")
    assert isinstance(w, s.While) and not w.until
    u = first("until a; do b; done")
    assert isinstance(u, s.While) and u.until
    f = first("for x in a 'b c' $d; do echo $x; done")
    assert isinstance(f, s.For) and f.name == "x" and f.words is not None and len(f.words) == 3
    f2 = first("for x\ndo :; done")
    assert isinstance(f2, s.For) and f2.words is None
    f3 = first("for x in do; do :; done")
    assert isinstance(f3, s.For) and f3.words is not None and len(f3.words) == 1
    sel = first("select x in a b; do break; done")
    assert isinstance(sel, s.Select)
    brace_body = first("for x in a; { echo; }")
    assert isinstance(brace_body, s.For)


def test_arith_for() -> None:
    cmd = first("for ((i=0; i<10; i++)); do :; done")
    assert isinstance(cmd, s.ArithFor)
    assert cmd.init is not None and isinstance(cmd.init.expr, s.ArithAssign)
    assert cmd.condition is not None and isinstance(cmd.condition.expr, s.ArithBinary)
    assert cmd.step is not None and isinstance(cmd.step.expr, s.ArithPostfix)
    empty = first("for ((;;)); do break; done")
    assert isinstance(empty, s.ArithFor) and empty.init is None and empty.condition is None


def test_case() -> None:
    text = "case $x in\n a|b) one;;\n (c) two ;&\n *) ;;&\n d) last\nesac"
    cmd = first(text)
    assert isinstance(cmd, s.Case)
    assert [len(i.patterns) for i in cmd.items] == [2, 1, 1, 1]
    assert [i.terminator for i in cmd.items] == [";;", ";&", ";;&", ""]
    assert cmd.items[2].body is None


def test_groups_subshells_functions() -> None:
    assert isinstance(first("{ a; b; }"), s.BraceGroup)
    assert isinstance(first("(a; b)"), s.Subshell)
    f = first("f() { a; } >/dev/null")
    assert isinstance(f, s.FunctionDef) and f.style == "posix"
    assert isinstance(f.body, s.BraceGroup) and len(f.body.redirects) == 1
    g = first("function g { a; }")
    assert isinstance(g, s.FunctionDef) and g.style == "keyword"
    h = first("function h() ( a )")
    assert isinstance(h, s.FunctionDef) and h.style == "keyword-parens"
    assert isinstance(h.body, s.Subshell)
    k = first("k()\n{\n :\n}")
    assert isinstance(k, s.FunctionDef)
    dashed = first("my-func() if true; then :; fi")
    assert isinstance(dashed, s.FunctionDef) and isinstance(dashed.body, s.If)


def test_coproc() -> None:
    named = first("coproc NAME { cat; }")
    assert isinstance(named, s.Coproc) and named.name == "NAME"
    unnamed = first("coproc cat -n")
    assert isinstance(unnamed, s.Coproc) and unnamed.name is None
    assert isinstance(unnamed.body, s.SimpleCommand)


def test_arith_command_and_subshell_ambiguity() -> None:
    cmd = first("(( x = 1 + 2 * 3 ))")
    assert isinstance(cmd, s.ArithCommand)
    e = cmd.arith.expr
    assert isinstance(e, s.ArithAssign) and isinstance(e.value, s.ArithBinary)
    assert e.value.op == "+"
    nested = first("( (echo a) )")
    assert isinstance(nested, s.Subshell)
    nested2 = first("((echo a) )")
    assert isinstance(nested2, s.Subshell)


# --------------------------------------------------------------------------- [[ ]]


def test_cond_operators_and_precedence() -> None:
    cmd = first("[[ -f a && ! ( $b == c* || d < e ) ]]")
    assert isinstance(cmd, s.CondCommand)
    e = cmd.expr
    assert isinstance(e, s.CondAnd)
    assert isinstance(e.left, s.CondUnary) and e.left.op == "-f"
    assert isinstance(e.right, s.CondNot) and isinstance(e.right.operand, s.CondGroup)
    inner = e.right.operand.expr
    assert isinstance(inner, s.CondOr)
    assert isinstance(inner.right, s.CondBinary) and inner.right.op == "<"


def test_cond_single_word_and_newlines() -> None:
    cmd = first("[[ $x &&\n -n y ]]")
    assert isinstance(cmd, s.CondCommand) and isinstance(cmd.expr, s.CondAnd)
    assert isinstance(cmd.expr.left, s.CondWord)


def test_cond_regex_keeps_parentheses_and_bars() -> None:
    text = "[[ $x =~ ^(a|b c)+[0-9]$ ]]"
    cmd = first(text)
    assert isinstance(cmd, s.CondCommand)
    assert isinstance(cmd.expr, s.CondBinary) and cmd.expr.op == "=~"
    assert src(text, cmd.expr.right) == "^(a|b c)+[0-9]$"
    quoted = "[[ $x =~ 'a.b'$y ]]"
    q = first(quoted)
    assert isinstance(q, s.CondCommand) and isinstance(q.expr, s.CondBinary)
    assert kinds(q.expr.right) == ["SingleQuoted", "ParamExpansion"]


@pytest.mark.parametrize(
    "text",
    ["[[ -f ]]", "[[ a b ]]", "[[ ]]", "[[ ( a ]]", "[[ a == ]]", "[[ a && ]]"],
)
def test_cond_syntax_errors(text: str) -> None:
    with pytest.raises(bashflow.ParseError):
        bashflow.parse(text)


# --------------------------------------------------------------------------- arithmetic


def arith(expr: str) -> s.ArithNode:
    cmd = first(f"(( {expr} ))")
    assert isinstance(cmd, s.ArithCommand)
    assert cmd.arith.expr is not None, cmd.arith.error
    return cmd.arith.expr


def shape(n: s.ArithNode) -> str:
    if isinstance(n, s.ArithNumber):
        return n.text
    if isinstance(n, s.ArithVar):
        return n.name + (f"[{shape(n.subscript)}]" if n.subscript else "")
    if isinstance(n, s.ArithWord):
        return "W"
    if isinstance(n, s.ArithUnary):
        return f"({n.op}{shape(n.operand)})"
    if isinstance(n, s.ArithPostfix):
        return f"({shape(n.operand)}{n.op})"
    if isinstance(n, s.ArithBinary):
        return f"({shape(n.left)}{n.op}{shape(n.right)})"
    if isinstance(n, s.ArithAssign):
        return f"({shape(n.target)}{n.op}{shape(n.value)})"
    if isinstance(n, s.ArithTernary):
        return f"({shape(n.cond)}?{shape(n.then)}:{shape(n.otherwise)})"
    if isinstance(n, s.ArithComma):
        return "(" + ",".join(shape(i) for i in n.items) + ")"
    assert isinstance(n, s.ArithGroup)
    return shape(n.expr)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 + 2 * 3", "(1+(2*3))"),
        ("-2 ** 2", "((-2)**2)"),
        ("2 ** 3 ** 2", "(2**(3**2))"),
        ("a = b += 3", "(a=(b+=3))"),
        ("a ? b : c ? d : e", "(a?b:(c?d:e))"),
        (
            "a || b && c | d ^ e & f == g < h << i + j * k",
            "(a||(b&&(c|(d^(e&(f==(g<(h<<(i+(j*k))))))))))",
        ),
        ("i++ + ++j", "((i++)+(++j))"),
        ("x--, --y", "((x--),(--y))"),
        ("a[i+1] = 16#ff", "(a[(i+1)]=16#ff)"),
        ("$x + ${y} * 2", "(W+(W*2))"),
        ("!a && ~b", "((!a)&&(~b))"),
        ("1 - -1", "(1-(-1))"),
        ("0x1F + 017 + 2#101 + 64#@_", "(((0x1F+017)+2#101)+64#@_)"),
    ],
)
def test_arith_precedence(expr: str, expected: str) -> None:
    assert shape(arith(expr)) == expected


def test_invalid_arith_is_not_a_script_error() -> None:
    # bash only parses arithmetic when it evaluates it
    cmd = first("(( 1 + ))")
    assert isinstance(cmd, s.ArithCommand)
    assert cmd.arith.expr is None and cmd.arith.error
    sub = simple("echo $(( 2 +* 3 ))").words[1].parts[0]
    assert isinstance(sub, s.ArithSub) and sub.arith.expr is None


def test_arith_sub_vs_command_sub() -> None:
    a = simple("echo $((1+2))").words[1].parts[0]
    assert isinstance(a, s.ArithSub)
    c = simple("echo $( (echo a) )").words[1].parts[0]
    assert isinstance(c, s.CommandSub)
    c2 = simple("echo $((echo a) | cat)").words[1].parts[0]
    assert isinstance(c2, s.CommandSub)
    legacy = simple("echo $[1+2]").words[1].parts[0]
    assert isinstance(legacy, s.ArithSub)


# --------------------------------------------------------------------------- words


def test_quoting_kinds() -> None:
    text = """echo a'b'"c$d"\\e$'f\\x72'$"g" """
    w = simple(text).words[1]
    assert kinds(w) == [
        "Literal", "SingleQuoted", "DoubleQuoted", "Escaped", "AnsiCQuoted", "LocaleQuoted",
    ]  # fmt: skip
    ansi = w.parts[4]
    assert isinstance(ansi, s.AnsiCQuoted) and ansi.value == "fr"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (r"\x72m", "rm"),
        (r"\u00e9", "é"),
        (r"\101\0", "A"),  # bash strings end at NUL
        (r"\cA\c?", "\x01\x7f"),
        (r"a\'b", "a'b"),
        (r"\t\n\e", "\t\n\x1b"),
        (r"\U0001F600", "\U0001f600"),
        (r"\xff", "\udcff"),
    ],
)
def test_ansi_c_decoding(raw: str, value: str) -> None:
    part = simple(f"echo $'{raw}'").words[1].parts[0]
    assert isinstance(part, s.AnsiCQuoted) and part.value == value


def test_double_quote_escapes() -> None:
    w = simple(r'echo "a\$b\"c\d"').words[1]
    dq = w.parts[0]
    assert isinstance(dq, s.DoubleQuoted)
    assert [type(p).__name__ for p in dq.parts] == [
        "Literal",
        "Escaped",
        "Literal",
        "Escaped",
        "Literal",
    ]
    assert dq.parts[-1] == s.Literal(dq.parts[-1].span, "c\\d")


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("${x}", {"name": "x", "braced": True}),
        ("${#x}", {"name": "x", "length": True}),
        ("${#}", {"name": "#", "length": False}),
        ("${#@}", {"name": "@", "length": True}),
        ("${!x}", {"name": "x", "indirect": True}),
        ("${!pre*}", {"name": "pre", "op": "!*"}),
        ("${!pre@}", {"name": "pre", "op": "!@"}),
        ("${!a[@]}", {"name": "a", "indirect": True, "op": None}),
        ("${a[@]}", {"name": "a"}),
        ("${x:-d}", {"op": ":-"}),
        ("${x-d}", {"op": "-"}),
        ("${x:=d}", {"op": ":="}),
        ("${x=d}", {"op": "="}),
        ("${x:?m}", {"op": ":?"}),
        ("${x?m}", {"op": "?"}),
        ("${x:+a}", {"op": ":+"}),
        ("${x+a}", {"op": "+"}),
        ("${x#p}", {"op": "#"}),
        ("${x##p}", {"op": "##"}),
        ("${x%p}", {"op": "%"}),
        ("${x%%p}", {"op": "%%"}),
        ("${x/a/b}", {"op": "/"}),
        ("${x//a/b}", {"op": "//"}),
        ("${x/#a/b}", {"op": "/#"}),
        ("${x/%a}", {"op": "/%"}),
        ("${x^}", {"op": "^"}),
        ("${x^^}", {"op": "^^"}),
        ("${x,}", {"op": ","}),
        ("${x,,[a-z]}", {"op": ",,"}),
        ("${x~}", {"op": "~"}),
        ("${x~~}", {"op": "~~"}),
        ("${a[@]~~[a-m]}", {"op": "~~", "name": "a"}),
        ("${x:1:2}", {"op": ":"}),
        ("${x: -1}", {"op": ":"}),
        ("${x@Q}", {"op": "@"}),
        ("${1}", {"name": "1"}),
        ("${10}", {"name": "10"}),
        ("$10", {"name": "1"}),
        ("$$", {"name": "$"}),
        ("${?}", {"name": "?"}),
    ],
)
def test_parameter_expansions(text: str, fields: dict[str, Any]) -> None:
    part = simple(f"echo {text}").words[1].parts[0]
    assert isinstance(part, s.ParamExpansion), part
    for k, v in fields.items():
        assert getattr(part, k) == v, (k, part)


def test_parameter_expansion_words() -> None:
    text = 'echo ${x//"a b"/$(echo c)} ${x:-{a}} ${x:1:$n}'
    ws = simple(text).words
    p = ws[1].parts[0]
    assert isinstance(p, s.ParamExpansion) and p.arg is not None and p.arg2 is not None
    assert kinds(p.arg) == ["DoubleQuoted"] and kinds(p.arg2) == ["CommandSub"]
    # `${x:-{a}}` ends at the first `}`: the second `}` is a literal after it
    assert kinds(ws[2]) == ["ParamExpansion", "Literal"]
    slice_ = ws[3].parts[0]
    assert isinstance(slice_, s.ParamExpansion) and slice_.arg2 is not None
    assert src(text, slice_.arg2) == "$n"


def test_bad_substitution_is_kept_not_rejected() -> None:
    part = simple("echo ${x!y}").words[1].parts[0]
    assert isinstance(part, s.BadSubstitution) and part.text == "${x!y}"


def test_command_substitution_with_case_and_andor() -> None:
    text = "x=$(case $y in a) echo a && b;; esac)"
    cmd = simple(text)
    value = cmd.assignments[0].value
    assert isinstance(value, s.Word)
    sub = value.parts[0]
    assert isinstance(sub, s.CommandSub) and sub.body is not None
    case = sub.body.items[0].command.first.commands[0]
    assert isinstance(case, s.Case)


def test_backquotes_unescape_and_spans() -> None:
    text = "echo `echo \\`date\\` \\$HOME`"
    sub = simple(text).words[1].parts[0]
    assert isinstance(sub, s.CommandSub) and sub.backquoted and sub.body is not None
    inner = sub.body.items[0].command.first.commands[0]
    assert isinstance(inner, s.SimpleCommand)
    nested = inner.words[1].parts[0]
    assert isinstance(nested, s.CommandSub) and nested.backquoted
    home = inner.words[2].parts[0]
    assert isinstance(home, s.ParamExpansion) and home.name == "HOME"
    # spans map back to the escaped text in the source
    assert src(text, home) == "\\$HOME"
    assert src(text, inner.words[0]) == "echo"


def test_process_substitution() -> None:
    text = "diff <(ls a) >(cat)"
    ws = simple(text).words
    assert [type(w.parts[0]).__name__ for w in ws[1:]] == ["ProcessSub", "ProcessSub"]
    p = ws[2].parts[0]
    assert isinstance(p, s.ProcessSub) and p.direction == ">"


def test_globs_and_extglobs() -> None:
    w = simple("echo *.t?t [a-c]x [!x] [[:alpha:]]").words
    assert kinds(w[1]) == ["Glob", "Literal", "Glob", "Literal"]
    assert kinds(w[2]) == ["Glob", "Literal"]
    assert kinds(w[3]) == ["Glob"] and kinds(w[4]) == ["Glob"]
    e = simple("echo @(a|b*) !(x) +(y) ?(z) *(w)").words
    ops = [p.op for ww in e[1:] for p in ww.parts if isinstance(p, s.ExtGlob)]
    assert ops == ["@", "!", "+", "?", "*"]
    ext = e[1].parts[0]
    assert isinstance(ext, s.ExtGlob) and len(ext.patterns) == 2
    # a `[` that never closes is a literal, and quoted globs are not globs
    assert kinds(simple("echo [ab").words[1]) == ["Literal"]
    assert kinds(simple("echo '*'\\?").words[1]) == ["SingleQuoted", "Escaped"]


def test_braces() -> None:
    w = simple('echo {a,b}{1..10..2} x{a,{b,c}}y {} {a} a{1..z} {"a,b"}').words
    assert kinds(w[1]) == ["BraceExpansion", "BraceRange"]
    r = w[1].parts[1]
    assert isinstance(r, s.BraceRange) and (r.start, r.end, r.step) == ("1", "10", "2")
    nested = w[2].parts[1]
    assert isinstance(nested, s.BraceExpansion)
    assert kinds(nested.alternatives[1]) == ["BraceExpansion"]
    assert kinds(w[3]) == ["Literal"] and kinds(w[4]) == ["Literal"]
    letters = simple("echo {a..z}").words[1].parts[0]
    assert isinstance(letters, s.BraceRange)
    # quoted commas do not make an expansion
    assert "BraceExpansion" not in kinds(w[6])
    # no brace expansion in assignments
    a = simple("x={a,b}").assignments[0].value
    assert isinstance(a, s.Word) and kinds(a) == ["Literal"]


def test_tildes() -> None:
    w = simple("echo ~ ~/x ~root/y ~+ ~- a~ '~' ~\"x\"").words
    assert kinds(w[1]) == ["Tilde"] and kinds(w[2]) == ["Tilde", "Literal"]
    t = w[3].parts[0]
    assert isinstance(t, s.Tilde) and t.user == "root"
    assert kinds(w[4]) == ["Tilde"] and kinds(w[5]) == ["Tilde"]
    assert kinds(w[6]) == ["Literal"] and kinds(w[7]) == ["SingleQuoted"]
    assert kinds(w[8])[0] == "Literal"
    a = simple("PATH=~/bin:~/x:/usr/bin").assignments[0].value
    assert isinstance(a, s.Word) and kinds(a) == ["Tilde", "Literal", "Tilde", "Literal"]
    # bash expands `~` after `=` in assignment-like arguments too
    assert "Tilde" in kinds(simple("echo a=~/x").words[1])
    assert "Tilde" not in kinds(simple("echo --p=~/x").words[1])


def test_arrays() -> None:
    cmd = simple("a=(1 'two' [5]=five [k]+=v\n # comment\n x) a[i+1]=y a+=(z) declare")
    arr = cmd.assignments[0].value
    assert isinstance(arr, s.ArrayLiteral)
    assert [type(e).__name__ for e in arr.elements] == [
        "Word", "Word", "ArrayElement", "ArrayElement", "Word",
    ]  # fmt: skip
    elem = arr.elements[3]
    assert isinstance(elem, s.ArrayElement) and elem.append
    assert cmd.assignments[1].subscript is not None
    assert cmd.assignments[2].append and isinstance(cmd.assignments[2].value, s.ArrayLiteral)
    decl = simple("declare -A m=([k]=v [j]=w) n=1")
    w = decl.words[2]
    assert kinds(w) == ["Literal", "ArrayLiteral"]


# --------------------------------------------------------------------------- here-docs


def test_heredocs() -> None:
    text = "cat <<EOF; cat <<-'END' | wc\nhi $USER\n$(date)\nEOF\n\tliteral $x\n\tEND\necho after\n"
    script = tree(text)
    first_cmd = script.body.items[0].command.first.commands[0]
    assert isinstance(first_cmd, s.SimpleCommand)
    hd = first_cmd.redirects[0].target
    assert isinstance(hd, s.HereDoc) and hd.delimiter == "EOF" and not hd.quoted
    assert src(text, hd) == "hi $USER\n$(date)\n"
    assert {type(p).__name__ for p in hd.body.parts} >= {"ParamExpansion", "CommandSub"}
    second = script.body.items[1].command.first.commands[0]
    assert isinstance(second, s.SimpleCommand)
    hd2 = second.redirects[0].target
    assert isinstance(hd2, s.HereDoc) and hd2.quoted and hd2.strip_tabs
    assert "".join(p.text for p in hd2.body.parts if isinstance(p, s.Literal)) == "literal $x\n"
    last = script.body.items[2].command.first.commands[0]
    assert isinstance(last, s.SimpleCommand) and src(text, last) == "echo after"


@pytest.mark.parametrize("delim", ["'EOF'", '"EOF"', "\\EOF", 'E"O"F'])
def test_quoted_heredoc_delimiters(delim: str) -> None:
    text = f"cat <<{delim}\n$x\nEOF\n"
    hd = simple(text).redirects[0].target
    assert isinstance(hd, s.HereDoc) and hd.quoted and hd.delimiter == "EOF"
    assert [type(p).__name__ for p in hd.body.parts] == ["Literal"]


def test_heredoc_inside_command_substitution() -> None:
    text = 'x=$(cat <<EOF\nbody\nEOF\n)\necho "$x"\n'
    script = tree(text)
    assert len(script.body.items) == 2


def test_heredoc_at_end_of_file_without_delimiter() -> None:
    # bash warns and takes the rest of the file as the body
    hd = simple("cat <<EOF\nno end").redirects[0].target
    assert isinstance(hd, s.HereDoc) and src("cat <<EOF\nno end", hd) == "no end"


def test_heredoc_body_with_broken_substitution_is_kept() -> None:
    # bash parses `$( )` in a here-doc body only when expanding it
    hd = simple("cat <<EOF\n$(if)\nEOF\n").redirects[0].target
    assert isinstance(hd, s.HereDoc)
    bad = next(p for p in hd.body.parts if isinstance(p, s.BadSubstitution))
    assert bad.text == "$(if)" and "syntax error" in bad.error
    assert hd.terminated


def test_unterminated_heredoc_is_marked() -> None:
    hd = simple("cat <<EOF\nbody\n").redirects[0].target
    assert isinstance(hd, s.HereDoc) and not hd.terminated


# --------------------------------------------------------------------------- spans


def test_spans_slice_back_on_every_node() -> None:
    text = (
        'f() { local x=${1:-a}; [[ $x == *.sh ]] && echo "$x" >&2; }\n'
        "for i in {1..3}; do (( n += i )); done | tee log\n"
        "case $1 in a) echo `date`;; esac\n"
    )
    script = tree(text)
    for n in s.walk(script):
        assert 0 <= n.span.start <= n.span.end <= len(text), n
        if isinstance(n, s.Literal) and "\\" not in text[n.span.start : n.span.end]:
            assert text[n.span.start : n.span.end] == n.text
        if isinstance(n, s.SingleQuoted):
            assert text[n.span.start : n.span.end] == f"'{n.text}'"
        if isinstance(n, s.SimpleCommand | s.Word | s.Redirect):
            assert text[n.span.start : n.span.end].strip() == text[n.span.start : n.span.end]


def test_nodes_are_immutable_and_compare_by_value() -> None:
    a = tree("echo hi")
    b = tree("echo hi")
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.filename = "x"  # type: ignore[misc]
    assert s.fields(s.Literal) == ("span", "text")


# --------------------------------------------------------------------------- odd inputs


def test_crlf_and_nul() -> None:
    # bash reads `\r` as part of a word: `then\r` is no keyword, so this is an error in bash
    with pytest.raises(bashflow.ParseError) as info:
        bashflow.parse("if true; then\r\n echo\r\nfi\r\n")
    assert "CRLF" in info.value.message
    # but plain commands are fine (bash runs them, with `\r` in the last word)
    w = simple("echo hi\r\n").words[1]
    assert w.parts[0] == s.Literal(w.parts[0].span, "hi\r")
    with pytest.raises(bashflow.ParseError) as nul:
        bashflow.parse("echo a\0b")
    assert nul.value.col == 7 and "NUL" in nul.value.message


def test_bytes_input_and_non_utf8() -> None:
    script = bashflow.parse(b"echo caf\xc3\xa9 \xff")
    cmd = script.body.items[0].command.first.commands[0]
    assert isinstance(cmd, s.SimpleCommand)
    assert cmd.words[2].parts[0] == s.Literal(cmd.words[2].parts[0].span, "\udcff")


def test_empty_and_comment_only() -> None:
    assert tree("").body.items == ()
    assert tree("# just a comment\n\n").body.items == ()
