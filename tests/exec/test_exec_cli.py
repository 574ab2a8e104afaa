"""`bashflow exec` as a command: invocation forms, the refusal to run unsandboxed silently,
the --no-sandbox warning, the run-time policy check of each command's concrete argv, and
bash's syntax-error report, each checked against bash where bash can run the same thing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXEC = [sys.executable, "-m", "bashflow", "exec"]


def run(
    args: list[str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        EXEC + args, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60
    )


def bash(
    args: list[str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/bash", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_runs_sandboxed_unless_told_otherwise() -> None:
    # without --no-sandbox the interpreter runs inside the sandbox (execute/contained.py),
    # or not at all (125) where this machine cannot set one up: never uncontained
    proc = run(["-c", "echo contained"])
    assert proc.returncode in (0, 125), proc.stderr
    if proc.returncode == 0:
        assert proc.stdout == "contained\n"
        assert "--no-sandbox" not in proc.stderr
    else:
        assert proc.stdout == ""


def test_no_sandbox_warns_unless_quiet() -> None:
    loud = run(["--no-sandbox", "-c", "echo hi"])
    assert loud.stdout == "hi\n"
    assert "warning" in loud.stderr
    quiet = run(["--no-sandbox", "-q", "-c", "echo hi"])
    assert quiet.stdout == "hi\n"
    assert quiet.stderr == ""


@pytest.mark.parametrize(
    "args",
    [
        ["-c", 'echo "$0|$1|$#"', "name", "a", "b"],
        ["-e", "-c", "false; echo not-reached", "sh0"],
        ["-u", "-c", 'echo "$nope"; echo after', "sh0"],
        ["-o", "pipefail", "-c", "false | true; echo $?", "sh0"],
        ["-O", "extglob", "-c", "x=foo.txt; echo ${x%%+(.txt)}", "sh0"],
        ["-x", "-c", "x=1; echo $x", "sh0"],
        ["-c", "exit 7", "sh0"],
    ],
)
def test_invocation_forms_match_bash(args: list[str]) -> None:
    ours = run(["--no-sandbox", "-q", *args])
    theirs = bash(args)
    assert (ours.stdout, ours.stderr, ours.returncode) == (
        theirs.stdout,
        theirs.stderr,
        theirs.returncode,
    )


def test_help_names_every_bashflow_option() -> None:
    proc = run(["--help"])
    assert proc.returncode == 0
    usage, _, rest = proc.stdout.partition("\n")
    for option in ("--policy", "--profile", "--workdir", "-j", "--no-sandbox", "-q",
                   "--no-precheck", "--accept-weaker", "--raw-tty"):  # fmt: skip
        assert f"[{option}" in usage or f"| {option}" in usage, option
        assert f"  {option}" in rest, option
    for status in ("126", "125", "124", "128+N", "2"):
        assert status in rest


def test_dollar_zero_without_a_name_is_bashflow() -> None:
    # DESIGN.md: `$0` is NAME, FILE, or `bashflow` (bash would give its own path)
    proc = run(["--no-sandbox", "-q", "-c", 'echo "$0|$#"; nope_zz'])
    assert proc.stdout == "bashflow|0\n"
    assert proc.stderr == "bashflow: line 1: nope_zz: command not found\n"


def test_script_file_args_and_stdin(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text('read line; echo "$0 $1 [$line]"\n')
    ours = run(["--no-sandbox", "-q", "s.sh", "arg"], stdin="input\n", cwd=tmp_path)
    theirs = bash(["s.sh", "arg"], stdin="input\n", cwd=tmp_path)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode)
    piped = run(["--no-sandbox", "-q"], stdin="echo from-stdin; echo $#\n")
    assert piped.stdout == "from-stdin\n0\n"


def test_script_on_stdin_is_read_a_command_at_a_time() -> None:
    # bash reads a script from stdin as it runs it: `read` consumes the next script line
    script = 'read x\nhello\necho "got $x"\ncat <<EOF\n$x\nEOF\nnosuch_zz\nif then\n'
    ours = run(["--no-sandbox", "-q"], stdin=script)
    theirs = bash([], stdin=script)
    assert ours.stdout == theirs.stdout == "got hello\nhello\n"
    assert ours.returncode == theirs.returncode == 2
    assert ours.stderr == theirs.stderr.replace("/usr/bin/bash:", "bashflow:")


def test_syntax_error_runs_the_lines_before_it(tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("echo before\nif then\necho after\n")
    ours = run(["--no-sandbox", "-q", "bad.sh"], cwd=tmp_path)
    theirs = bash(["bad.sh"], cwd=tmp_path)
    assert (ours.stdout, ours.stderr, ours.returncode) == (
        theirs.stdout,
        theirs.stderr,
        theirs.returncode,
    )


def test_policy_denies_a_concrete_argv_and_the_script_goes_on(tmp_path: Path) -> None:
    policy = REPO / "fixtures" / "policies" / "readonly.toml"
    (tmp_path / "victim").write_text("x")
    # the command name only exists at run time: the static precheck cannot see it
    script = 'cmd=r; cmd="${cmd}m"; $cmd victim; echo "status $?"; [ -e victim ] && echo kept\n'
    proc = run(
        ["--no-sandbox", "-q", "--no-precheck", "--policy", str(policy), "-c", script],
        cwd=tmp_path,
    )
    assert proc.stdout == "status 126\nkept\n"
    assert proc.stderr.startswith("bashflow: denied: ")
    assert proc.stderr.rstrip().endswith("(bashflow:1)")


def test_policy_may_name_a_profile_without_the_sandbox_too(tmp_path: Path) -> None:
    # `--policy NAME` reads a built-in profile when no file NAME exists, as the sandboxed
    # runner does: strict does not allow git, workspace does
    args = ["--no-sandbox", "-q", "--no-precheck", "-c", "git --version >/dev/null; echo $?"]
    strict = run([*args[:3], "--policy", "strict", *args[3:]], cwd=tmp_path)
    assert strict.stdout == "126\n" and "bashflow: denied: " in strict.stderr
    workspace = run([*args[:3], "--policy", "workspace", *args[3:]], cwd=tmp_path)
    assert (workspace.stdout, workspace.stderr) == ("0\n", "")
    missing = run([*args[:3], "--policy", "nosuch", *args[3:]], cwd=tmp_path)
    assert missing.returncode == 2 and "nosuch" in missing.stderr and missing.stdout == ""


def test_both_runners_report_a_bad_policy_and_a_precheck_denial_alike(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[commands]\nallow = ["ls"]\n\n[limits]\nmemory_mib = -5\n')
    script = "echo hi; curl http://x\n"
    outs = []
    from bashflow.sandbox.probe import probe

    weaker = [a for m in probe().missing() for a in ("--accept-weaker", m.value)]
    for runner in (["--no-sandbox", "-q"], weaker):
        bad_run = run([*runner, "--policy", str(bad), "-c", "true"], cwd=tmp_path)
        denied = run([*runner, "--profile", "workspace", "-c", script], cwd=tmp_path)
        if denied.returncode == 125:
            continue  # no sandbox on this machine: the sandboxed half cannot run
        outs.append((bad_run.returncode, bad_run.stderr, denied.returncode, denied.stdout,
                     denied.stderr))  # fmt: skip
    assert outs[0][:2] == (2, f"{bad}:5:1: error: limits.memory_mib: Input should be greater "
                              "than 0\nmemory_mib = -5\n^\n")  # fmt: skip
    assert outs[0][2:4] == (126, "")
    assert "bashflow:1:10: deny[BF102]: `curl` is denied" in outs[0][4]
    assert "echo hi; curl http://x\n         ^~~~" in outs[0][4]
    assert all(o == outs[0] for o in outs)


HANDED_IN = """
import sys
from bashflow.cli.exec_cmd import parse_exec_args
from bashflow.execute.main import run_exec
from bashflow.execute.policy_hook import PolicyHook
from bashflow.policy.lite import load_lite

o = parse_exec_args(sys.argv[2:])
sys.exit(run_exec(o, policy=PolicyHook(load_lite(sys.argv[1]))))
"""


def test_run_exec_uses_the_policy_its_caller_hands_in(tmp_path: Path) -> None:
    # the sandboxed runner resolves the policy (and prechecks) outside and hands the hook in:
    # run_exec then loads nothing and prechecks nothing (the precheck would stop this script
    # before `seq` runs), and judges every argv with the hook it was given
    policy = REPO / "fixtures" / "policies" / "readonly.toml"
    (tmp_path / "victim").write_text("x")
    script = 'seq 2; rm victim; echo "status $?"; [ -e victim ] && echo kept\n'
    for args in (["-c", script], ["-s"]):
        proc = subprocess.run(
            [sys.executable, "-c", HANDED_IN, str(policy), *args],
            input=script if args == ["-s"] else "",
            capture_output=True, text=True, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert proc.stdout == "1\n2\nstatus 126\nkept\n", proc.stderr
        assert proc.stderr.startswith("bashflow: denied: ")
        assert proc.returncode == 0


@pytest.mark.parametrize(
    "payload", ["a b (", "a (", "x; a (", "a ( b", "f() { echo ( ; }", "while x; do a ( ; done"]
)
def test_eval_syntax_errors_name_bashs_token(payload: str) -> None:
    # `word (` starts a function definition for bash (the complaint is about what follows);
    # `a b (` is an error at the parenthesis itself
    args = ["-c", f'eval "{payload}"; echo "status $?"']
    ours = run(["--no-sandbox", "-q", *args])
    theirs = bash(args)
    assert (ours.stdout, ours.stderr.replace("bashflow:", "/usr/bin/bash:"), ours.returncode) == (
        theirs.stdout,
        theirs.stderr,
        theirs.returncode,
    )


def test_temporary_assignment_to_a_readonly_variable_matches_bash() -> None:
    # bash reports it, leaves that one assignment out (unexpanded, untraced) and still runs
    # the program, builtin or function with the others
    script = (
        "set -x; readonly x=1; y=a x=$(echo sub >&2) z=b /usr/bin/printenv x y z; echo $?; "
        'y=b x=2 eval "echo \\$x\\$y"; f() { echo "$x$y"; }; y=c x=3 f; x=4 :; echo $?'
    )
    args = ["-c", script, "sh0"]
    ours = run(["--no-sandbox", "-q", *args])
    theirs = bash(args)
    assert (ours.stdout, ours.stderr, ours.returncode) == (
        theirs.stdout,
        theirs.stderr,
        theirs.returncode,
    )


def test_wait_remembers_a_reaped_jobs_status_like_bash() -> None:
    # `wait PID` and `wait -n` keep the status for a later `wait PID` (also `-p`); a `wait`
    # without operands forgets them, and a subshell never had them
    script = (
        "(exit 4) & p=$!; wait $p; echo $?; wait $p; echo $?; wait -p v $p; echo $? $((v == p)); "
        "(exit 5) & q=$!; wait -n; echo $?; wait $q; echo $?; "
        "(exit 6) & r=$!; wait; echo $?; wait $r; echo $?; (wait $q; echo sub $?)"
    )
    args = ["-c", script, "sh0"]
    ours, theirs = run(["--no-sandbox", "-q", *args]), bash(args)
    pids = re.compile(r"pid [0-9]+")
    assert (ours.stdout, pids.sub("pid N", ours.stderr), ours.returncode) == (
        theirs.stdout,
        pids.sub("pid N", theirs.stderr),
        theirs.returncode,
    )
    assert theirs.stdout == "4\n4\n4 1\n5\n5\n0\n127\nsub 127\n"


def test_precheck_lets_shell_only_variables_and_eval_errors_through(tmp_path: Path) -> None:
    # the interpreter handles these itself (and checks every argv at run time): a run is not
    # stopped for them; a variable that steers programs still stops it before anything runs
    policy = REPO / "fixtures" / "policies" / "build.toml"
    script = 'IFS=:; x=a:b; echo $x; PS4="> "; eval "a b ("; echo done\n'
    proc = run(["--no-sandbox", "-q", "--policy", str(policy), "-c", script], cwd=tmp_path)
    assert proc.stdout == "a b\ndone\n", proc.stderr
    stopped = run(
        ["--no-sandbox", "-q", "--policy", str(policy), "-c", "echo ran; GIT_PAGER=x git log"],
        cwd=tmp_path,
    )
    assert stopped.returncode == 126
    assert stopped.stdout == ""
    assert "BF109" in stopped.stderr
