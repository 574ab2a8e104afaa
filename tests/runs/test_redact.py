"""runs/redact: secrets replaced by ***, ordinary text left alone."""

from __future__ import annotations

import pytest

from bashflow.runs.redact import Redactor, secret_values

# Shaped like real credentials (right prefixes, lengths and alphabets); none is a live key.
GITHUB = "ghp_" + "Zq8rT2mW9xLk4Vb7Nc1Hd5Fj3Gs6Pa0Ye2Ru"
GITHUB_PAT = (
    "github_pat_11ABCDEFG0" + "aBcDeFgHiJkLmNoPqRsTuV_wXyZ0123456789abcdefghijklmnopqrstuvwxyz"
)
AWS = "AKIA" + "QW7ERTY5UIOP3ASD"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
OPENAI = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF"
ANTHROPIC = "sk-ant-api03-" + "x9Y8w7V6u5T4s3R2q1P0o9N8m7L6k5J4"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    "token", [GITHUB, GITHUB_PAT, AWS, SLACK, OPENAI, ANTHROPIC, JWT, PEM], ids=str.__len__
)
def test_token_shapes_are_redacted_anywhere(token: str) -> None:
    r = Redactor({})
    out = r.text(f"using {token} now")
    assert out == "using *** now"
    assert r.data(f"[{token}]".encode()) == b"[***]"


def test_key_value_pairs_keep_their_key() -> None:
    r = Redactor({})
    url = "https://api.example.com/v1?user=bob&token=q8Xz1Lk3&format=json"
    assert r.text(url) == "https://api.example.com/v1?user=bob&token=***&format=json"
    assert r.text("mysql --password=hunter22 db") == "mysql --password=*** db"
    assert r.text("curl -H 'Authorization: Bearer abc.def-ghi_jkl'") == (
        "curl -H 'Authorization: Bearer ***'"
    )
    assert r.text("login --token s3cr3tv4lue --verbose") == "login --token *** --verbose"
    assert r.text("git clone https://bob:pa55w0rd@git.example.com/r.git") == (
        "git clone https://bob:***@git.example.com/r.git"
    )


def test_secret_environment_values() -> None:
    env = {
        "GITHUB_TOKEN": "tok-value-123",
        "DB_PASSWORD": "correct horse",
        "MY_API_KEY": "k3y",  # shorter than 4: not redacted
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "GIT_AUTHOR_NAME": "Jane Doe",  # AUTHOR is not AUTH
        "HTTP_AUTH": "basic-auth-value",
        "HOME": "/root",
    }
    assert secret_values(env) == [
        "wJalrXUtnFEMI/K7MDENG",
        "basic-auth-value",
        "correct horse",
        "tok-value-123",
    ]
    r = Redactor(env)
    text = "tok-value-123 and correct horse; k3y by Jane Doe in /root; basic-auth-value"
    assert r.text(text) == "*** and ***; k3y by Jane Doe in /root; ***"
    # bytes that are not UTF-8 around a secret
    assert r.data(b"\xff\xfewJalrXUtnFEMI/K7MDENG\x00") == b"\xff\xfe***\x00"


def test_argv_hides_the_value_after_a_secret_option() -> None:
    r = Redactor({})
    assert r.argv(["deploy.sh", "--password", "hunter22", "--name", "x"]) == [
        "deploy.sh",
        "--password",
        "***",
        "--name",
        "x",
    ]
    assert r.argv(["--token", "--verbose"]) == ["--token", "--verbose"]


def test_json_values_redacted_recursively() -> None:
    r = Redactor({"SERVICE_TOKEN": "abcd1234"})
    value = {"text": "echo abcd1234", "nodes": [{"text": f"curl {GITHUB}"}], "n": 3}
    assert r.value(value) == {"text": "echo ***", "nodes": [{"text": "curl ***"}], "n": 3}


NEGATIVE = [
    "the quick brown fox jumps over the lazy dog",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",  # a git commit hash
    "id 123e4567-e89b-12d3-a456-426614174000",  # a UUID
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "password: please enter it below",
    "token",
    "the author wrote an authentication guide",
    "disk-usage-report-for-the-whole-cluster and task-scheduler-manager-2024",
    "sk-learn-extensions-for-classifiers",
    "AKIA is a prefix",
    "Bearer",
    "https://example.com/path?page=2&sort=asc",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC user@host",
    "-----BEGIN CERTIFICATE-----",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_text_is_untouched(text: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "GIT_AUTHOR_EMAIL": "jane@example.com"}
    assert Redactor(env).text(text) == text
