"""compile_script: nodes, effects, edges, verdicts and the document (docs/compile.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bashflow
from bashflow.compile import compile_script
from bashflow.compile.explain import explain
from bashflow.compile.load import load_workflow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures" / "scripts").glob("*.sh"))


def doc(script: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("cwd", "/w")
    kw.setdefault("home", "/home/u")
    return compile_script(script, **kw).to_json()


def nodes(d: dict[str, Any]) -> list[tuple[str, str, int | None, str | None]]:
    return [(n["text"], n["kind"], n["parent"], n["role"]) for n in d["nodes"]]


def edges(d: dict[str, Any]) -> set[tuple[int, int, str]]:
    return {(e["from"], e["to"], e["kind"]) for e in d["edges"]}


def res(n: dict[str, Any], which: str) -> set[tuple[str, str | None]]:
    return {(r["kind"], r["path"] or r["name"]) for r in n[which]}


def path_exists(d: dict[str, Any], a: int, b: int) -> bool:
    succ: dict[int, list[int]] = {}
    for e in d["edges"]:
        succ.setdefault(e["from"], []).append(e["to"])
    stack, seen = [a], set()
    while stack:
        x = stack.pop()
        if x == b:
            return True
        if x not in seen:
            seen.add(x)
            stack.extend(succ.get(x, []))
    return False


# --------------------------------------------------------------------------- nodes


@pytest.mark.slow  # the first arithmetic loads its grammar
def test_one_node_per_command_that_could_run() -> None:
    d = doc(
        "x=$(date)\n"
        "cat <<EOF > out\n$(hostname) ${y:-$(id -u)}\nEOF\n"
        "diff <(sort a) <(sort b)\n"
        "echo $(( $(nproc) + 1 ))\n"
        "f() { echo in f; }\n"
        "trap 'rm -f tmp' EXIT\n"
        "eval 'touch made'\n"
    )
    texts = [n["text"] for n in d["nodes"]]
    for cmd in ("date", "hostname", "id -u", "sort a", "sort b", "nproc", "echo in f"):
        assert cmd in texts, cmd
    assert "rm -f tmp" in texts and "touch made" in texts  # trap and eval payloads
    by_text = {n["text"]: n for n in d["nodes"]}
    assert by_text["date"]["role"] == "assignment"
    assert by_text["hostname"]["role"] == "heredoc"
    assert by_text["sort a"]["role"] == "argument"
    assert by_text["echo in f"]["role"] == "function_body"
    assert by_text["rm -f tmp"]["role"] == "body"


def test_compound_commands_are_nodes_with_a_body() -> None:
    d = doc(
        "if test -f a; then cat a; elif test -f b; then cat b; else echo none; fi\n"
        "while read -r l; do echo $l; done < in\n"
        "for f in a b; do wc -l $f; done\n"
        "case $1 in x) echo x;; *) echo other;; esac\n"
        "{ echo g; } > log\n"
        "(cd sub && ls)\n"
        "cat a | sort | uniq\n"
    )
    got = nodes(d)
    assert got[0][:2] == (
        "if test -f a; then cat a; elif test -f b; then cat b; else echo none; fi",
        "if",
    )
    roles = [(t, r) for t, _k, p, r in got if p == 1]
    assert roles == [
        ("test -f a", "condition"),
        ("cat a", "then"),
        ("test -f b", "elif"),
        ("cat b", "then"),
        ("echo none", "else"),
    ]
    kinds = [k for _t, k, p, _r in got if p is None]
    assert kinds == ["if", "while", "for", "case", "group", "subshell", "pipeline"]
    pipe = d["nodes"][-4]
    assert pipe["kind"] == "pipeline"
    assert [n["role"] for n in d["nodes"] if n["parent"] == pipe["id"]] == ["element"] * 3


def test_words_name_resolution_and_labels() -> None:
    d = doc('f() { :; }\nf 1\nx=1\ncd "$HOME"/p\nls -l "$x" $unknown\n' + "echo " + "a" * 80 + "\n")
    by = {n["text"].split("\n")[0]: n for n in d["nodes"]}
    assert by["f 1"]["resolution"] == "function"
    assert by["x=1"]["resolution"] == "assignment" and by["x=1"]["words"] == []
    assert by['cd "$HOME"/p']["words"] == ["cd", "/home/u/p"]
    assert by['ls -l "$x" $unknown']["words"] == ["ls", "-l", "1", None]
    assert by['ls -l "$x" $unknown']["resolution"] == "program"
    long = d["nodes"][-1]
    assert len(long["label"]) == 60 and long["label"].endswith("…")
    assert d["nodes"][0]["words"] is None  # compound


# --------------------------------------------------------------------------- effects


def test_redirections_and_paths_against_the_known_cwd() -> None:
    d = doc('cd /srv/app\nsort < in.txt > out.txt 2>&1\necho x >> log/all.log\ncd "$1"\ncat rel\n')
    sort, echo, cat = d["nodes"][1], d["nodes"][2], d["nodes"][4]
    assert ("file", "/srv/app/in.txt") in res(sort, "reads")
    assert ("file", "/srv/app/out.txt") in res(sort, "writes")
    assert ("file", "/srv/app/log/all.log") in res(echo, "writes")
    assert ("cwd", None) in res(cat, "reads")
    assert ("file", None) in res(cat, "reads")  # after `cd "$1"` the cwd is unknown
    assert d["cwd"] == "/w"


def test_specs_give_files_trees_and_globs() -> None:
    d = doc("cp -r src dst\nrm -f *.o\ngrep -r TODO lib\n")
    cp, _rm, grep = d["nodes"]
    assert ("tree", "/w/src") in res(cp, "reads") and cp["spec"]["name"] == "cp"
    assert ("tree", "/w/lib") in res(grep, "reads")


def test_streams_stdin_readers_conflict_stdout_writers_do_not() -> None:
    d = doc("read -r a\nread -r b\necho one\necho two\nwc -l < file\n")
    assert (1, 2, "data") in edges(d)
    assert not path_exists(d, 3, 4)
    assert not path_exists(d, 1, 5) and not path_exists(d, 2, 5)  # wc reads a file, not stdin
    reason = next(e["reason"] for e in d["edges"] if (e["from"], e["to"]) == (1, 2))
    assert reason == "node 2 reads standard input, written by node 1"


def test_variables_functions_and_the_environment() -> None:
    d = doc("a=1\nb=2\necho $a\nf() { echo $b; }\nf\nPATH=/opt/bin:$PATH\nls\n")
    e = edges(d)
    assert (1, 3, "variable") in e  # echo $a reads a
    assert not path_exists(d, 2, 3)  # echo $a does not read b
    call = next(n for n in d["nodes"] if n["text"] == "f")
    assert ("variable", "b") in res(call, "reads") and ("function", "f") in res(call, "reads")
    assert path_exists(d, 2, call["id"]) and path_exists(d, 4, call["id"])
    ls = d["nodes"][-1]
    assert path_exists(d, ls["id"] - 1, ls["id"])  # PATH= changes what `ls` runs


def test_ifs_orders_word_splitting() -> None:
    d = doc("IFS=,\necho $list\necho plain\n")
    assert (1, 2, "variable") in edges(d) and not path_exists(d, 1, 3)


def test_cd_orders_the_commands_that_depend_on_the_cwd() -> None:
    d = doc("ls\ncd /tmp\nls\n")
    assert (1, 2, "cwd") in edges(d) and (2, 3, "cwd") in edges(d)
    reason = next(e["reason"] for e in d["edges"] if (e["from"], e["to"]) == (2, 3))
    assert reason == "node 3 reads the working directory, written by node 2"


def test_subshells_keep_their_state_to_themselves() -> None:
    d = doc("(cd /tmp; x=1)\nls\n")
    assert not path_exists(d, 1, 4)
    assert ("cwd", None) not in res(d["nodes"][0], "writes")


def test_unknown_commands_are_barriers_against_everything() -> None:
    d = doc("cat a > b\nmystery-tool --go\ncat c > d\n")
    tool = d["nodes"][1]
    assert tool["barrier"] and "mystery-tool" in tool["barrier_reason"]
    assert path_exists(d, 1, 2) and path_exists(d, 2, 3)


def test_background_jobs_and_wait() -> None:
    d = doc("sort a > x &\nsort b > y &\nwait\ncat x y\n")
    assert d["nodes"][0]["background"] and d["nodes"][1]["background"]
    assert not path_exists(d, 1, 2)
    assert path_exists(d, 1, 3) and path_exists(d, 2, 3)


def test_network_reads_do_not_conflict_writes_do() -> None:
    d = doc("git fetch origin\ngit ls-remote origin\ngit push origin main\n")
    assert res(d["nodes"][0], "reads") >= {("network", "read")}
    assert path_exists(d, 1, 3) and path_exists(d, 2, 3)


# --------------------------------------------------------------------------- control


def test_and_or_and_if_are_control_edges() -> None:
    d = doc(
        "make_dir() { :; }\ntest -d d || mkdir d\nif grep -q x f; then rm f; else touch f; fi\n"
    )
    e = edges(d)  # node 2 is the function's body `:`
    assert (3, 4, "control") in e
    reason = next(x["reason"] for x in d["edges"] if (x["from"], x["to"]) == (3, 4))
    assert reason == "runs only if node 3 fails (||)"
    assert (6, 7, "control") in e and (6, 8, "control") in e


def test_set_e_orders_side_effects_after_earlier_commands() -> None:
    plain = doc("cat a > b\ncat c > d\n")
    strict = doc("set -e\ncat a > b\ncat c > d\n")
    assert not path_exists(plain, 1, 2)
    assert (2, 3, "control") in edges(strict)


def test_exit_is_a_barrier_in_its_body() -> None:
    d = doc("touch a\n[ -f b ] || exit 1\ntouch c\n")
    assert path_exists(d, 1, 3) and path_exists(d, 3, 4)
    loop = doc("for i in 1 2; do touch a; break; done\ntouch c\n")
    assert not loop["nodes"][0]["barrier"]  # `break` ends only the loop


def test_status_reads_follow_the_command_they_read() -> None:
    d = doc("grep -q x f\necho $?\n")
    assert (1, 2, "control") in edges(d)


# --------------------------------------------------------------------------- document


def test_document_shape_ids_and_settings() -> None:
    text = "echo hi > a.txt\ncat a.txt\n"
    d = doc(text)
    assert d["schema"] == "bashflow.workflow" and d["version"] == 1
    import hashlib

    sha = hashlib.sha256(text.encode()).hexdigest()
    assert d["source"]["sha256"] == sha and d["id"] == "wf-" + sha[:16]
    assert [n["id"] for n in d["nodes"]] == [1, 2]
    assert d["nodes"][0]["settings"] == d["defaults"]
    assert d["defaults"]["retry"]["max_attempts"] == 1 and d["defaults"]["priority"] == 5
    assert d["nodes"][0]["span"]["start"] == {"line": 1, "col": 1, "offset": 0}
    assert d["policy"] is None and d["nodes"][0]["verdict"] is None


@pytest.mark.parametrize("script", FIXTURES, ids=lambda p: p.name)
def test_fixture_documents_load_with_the_schema(script: Path) -> None:
    d = compile_script(script.read_bytes(), filename=script.name, cwd="/w").to_json()
    load_workflow(json.dumps(d))  # schema and cross-references (the render engineer's loader)


def test_payload_nodes_found_verbatim_have_their_own_span() -> None:
    text = "eval 'touch made'\n"
    d = doc(text)
    inner = d["nodes"][1]
    assert inner["text"] == "touch made"
    assert text[inner["span"]["start"]["offset"] : inner["span"]["end"]["offset"]] == "touch made"


def test_a_tree_compiles_through_its_printed_text() -> None:
    tree = bashflow.parse("echo a > f; cat f")
    d = compile_script(tree, cwd="/w").to_json()
    assert [n["name"] for n in d["nodes"]] == ["echo", "cat"]
    assert (1, 2, "data") in edges(d)


def test_syntax_errors_raise_parse_error() -> None:
    with pytest.raises(bashflow.ParseError):
        compile_script("if then", cwd="/w")


# --------------------------------------------------------------------------- verdicts


def test_verdicts_go_to_the_innermost_node() -> None:
    d = doc("ls\nif true; then rm -rf /; fi\n", policy="workspace")
    assert d["policy"]["name"] == "workspace" and d["policy"]["decision"] == "deny"
    rm = next(n for n in d["nodes"] if n["text"] == "rm -rf /")
    assert rm["verdict"]["decision"] == "deny" and rm["verdict"]["findings"]
    assert d["nodes"][0]["verdict"] == {"decision": "allow", "findings": []}
    if_node = d["nodes"][1]
    assert if_node["verdict"]["decision"] == "deny" and if_node["verdict"]["findings"] == []


def test_bad_policy_is_a_policy_error() -> None:
    with pytest.raises(bashflow.PolicyError):
        compile_script("ls", cwd="/w", policy="no-such-profile-or-file")


# --------------------------------------------------------------------------- explain


def test_explain_names_the_edge_that_holds_a_node_back() -> None:
    wf = compile_script("sort a > b\ncat c > d\ncat b d > e\nwc -l e\n", cwd="/w")
    text = explain(wf)
    assert "top level: 4 nodes, 3 steps at best" in text
    assert "node 4 `wc -l e` does not conflict with nodes 1, 2 but waits for node 3" in text
    assert "node 4 reads /w/e, written by node 3" in text


def test_after_a_call_or_a_source_what_they_may_change_is_unknown() -> None:
    d = doc("go() { cd sub; }\ngo\ncat rel.txt\n")
    cat = d["nodes"][-1]
    assert ("file", "/w/sub/rel.txt") in res(cat, "reads")  # the call was walked: cwd known
    assert path_exists(d, 3, 4)
    d = doc("go() { cd sub; go; }\ngo\ncat rel.txt\n")  # recursion: the summary
    assert ("file", None) in res(d["nodes"][-1], "reads")
    d = doc("cd /srv\n. ./env.sh\ncat rel.txt\n")
    assert ("file", None) in res(d["nodes"][-1], "reads")


def test_a_cd_that_may_fail_in_a_list_leaves_the_cwd_unknown() -> None:
    d = doc("cd /a && ls; cat x\ncd /b || exit 1\ncat y\n")
    cat_x = next(n for n in d["nodes"] if n["text"] == "cat x")
    cat_y = next(n for n in d["nodes"] if n["text"] == "cat y")
    assert ("file", None) in res(cat_x, "reads")  # /a/x, or x where we were if cd failed
    assert ("file", "/b/y") in res(cat_y, "reads")  # `|| exit`: after it, we are in /b


def test_a_local_nameref_ends_with_the_call() -> None:
    d = doc('f() { local -n r=x; echo "$r"; }\nf\necho "$r"\n')
    inside, after = (n for n in d["nodes"] if n["text"] == 'echo "$r"')
    assert ("variable", None) in res(inside, "reads")  # r names another variable here
    assert ("variable", "r") in res(after, "reads")  # and is plain `r` again after `f`
    assert ("variable", None) not in res(after, "reads")


def test_what_follows_a_failed_cd_runs_in_the_old_cwd() -> None:
    d = doc("echo x > /w/f\ncd sub || rm -f f\ncat g\n")
    rm = next(n for n in d["nodes"] if n["text"] == "rm -f f")
    cat = next(n for n in d["nodes"] if n["text"] == "cat g")
    assert res(rm, "writes") == {("file", "/w/f")}  # rm runs only if `cd sub` failed
    assert path_exists(d, 1, rm["id"])
    assert ("file", None) in res(cat, "reads")  # in sub, or where we were


def test_calls_are_walked_in_the_callers_state() -> None:
    d = doc(
        "LOG=/tmp/run.log\n"
        'log() { echo "$*" >> "$LOG"; }\n'
        'f() { local d=/x; touch "$d/$1"; }\n'
        "d=/home\nlog start\nf made\nrm -rf $d/tmp\ncat a > b\n"
    )
    by = {n["text"]: n for n in d["nodes"]}
    assert ("file", "/tmp/run.log") in res(by["log start"], "writes")
    assert ("file", "/x/made") in res(by["f made"], "writes")
    assert ("tree", "/home/tmp") in res(by["rm -rf $d/tmp"], "writes")  # `local d` restored
    assert not path_exists(d, by["log start"]["id"], by["cat a > b"]["id"])


def test_a_call_of_a_name_defined_twice_carries_both_bodies() -> None:
    d = doc("if test -n x; then f() { rm a; }; else f() { rm b; }; fi\nf\n")
    call = d["nodes"][-1]
    assert {("file", "/w/a"), ("file", "/w/b")} <= res(call, "writes")


def test_random_reads_are_ordered() -> None:
    d = doc("RANDOM=7\na=$RANDOM\nb=$RANDOM\n")
    assert path_exists(d, 1, 2) and path_exists(d, 2, 3)
