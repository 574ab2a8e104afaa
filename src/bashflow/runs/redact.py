"""runs/redact - secrets out of events, history and `bashflow show` (contract section 4).

Two sources of secrets:
* the values (4 characters or more) of environment variables whose names look secret
  (TOKEN, SECRET, PASSWORD, PASSWD, PASSPHRASE, API_KEY/APIKEY, PRIVATE_KEY, CREDENTIAL, AUTH,
  case-insensitive; AUTH not when it is the start of AUTHOR, so GIT_AUTHOR_NAME is no secret);
* strings that look like tokens wherever they appear: GitHub (ghp_ gho_ ghs_ ghu_ ghr_,
  github_pat_), AWS access key ids (AKIA/ASIA), Slack (xox?-), OpenAI/Anthropic (sk-...),
  JWTs, `Bearer ...`, PEM private key blocks, `password=`/`token=`-style pairs, `--password X`
  style arguments and the password of a URL's user info.

Each becomes `***` (a key=value pair keeps its key, `Bearer` stays). The matching is done on
bytes, so captured output that is not UTF-8 is redacted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

MASK = b"***"
MIN_VALUE = 4

SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH(?!OR)",
    re.IGNORECASE,
)


# Each rule: a pattern, its replacement (group 1 is a key or prefix that stays), and literals
# (lowercase) one of which every match contains: a rule whose literals are all absent from
# the text is not run (a 64 KiB buffer is scanned for literals in well under a millisecond;
# running every pattern over it costs tens).
class _Lazy:
    """A pattern compiled when first needed (most text never needs most of them: `show` and
    a run start faster)."""

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: bytes, flags: int = 0) -> None:
        self.source = source
        self.flags = flags
        self._compiled: re.Pattern[bytes] | None = None

    def sub(self, replacement: bytes, data: bytes) -> bytes:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled.sub(replacement, data)


_RULES: list[tuple[_Lazy, bytes, tuple[bytes, ...]]] = [
    (
        _Lazy(
            rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?"
            rb"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        MASK,
        (b"private key-----",),
    ),
    (
        _Lazy(rb"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        MASK,
        (b"ghp_", b"gho_", b"ghs_", b"ghu_", b"ghr_", b"github_pat_"),
    ),
    (_Lazy(rb"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"), MASK, (b"akia", b"asia")),
    (_Lazy(rb"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK, (b"xox",)),
    # sk-..., sk-ant-..., sk-proj-...: at least 20 more characters, letters and digits mixed
    (
        _Lazy(rb"\bsk-(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}"),
        MASK,
        (b"sk-",),
    ),
    (
        _Lazy(rb"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        MASK,
        (b"eyj",),
    ),
    (_Lazy(rb"(\b[Bb]earer[ \t]+)[A-Za-z0-9._~+/-]{8,}=*"), rb"\1***", (b"bearer",)),
    (
        _Lazy(
            rb"(?i)(\b(?:password|passwd|passphrase|pwd|pass|token|access_token|refresh_token"
            rb"|id_token|auth_token|secret|client_secret|api_?key|apikey|private_?key|auth)=)"
            rb"[^\s&'\";,]+"
        ),
        rb"\1***",
        (b"pass", b"pwd=", b"token=", b"secret=", b"apikey=", b"api_key=", b"private", b"auth="),
    ),
    (
        _Lazy(
            rb"(?i)((?<![\w-])--?(?:password|passwd|passphrase|token|secret|api-?key|auth-token)"
            rb"[ \t]+)(?!-)[^\s'\"]+"
        ),
        rb"\1***",
        (b"-pass", b"-token", b"-secret", b"-api", b"-auth-token"),
    ),
    # scheme://user:PASSWORD@host
    (
        _Lazy(rb"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+(?=@)"),
        rb"\1***",
        (b"://",),
    ),
]

_SECRET_OPTION = re.compile(
    r"--?(?:password|passwd|passphrase|token|secret|api-?key|auth-token|access-token)",
    re.IGNORECASE,
)


def _encode(value: str) -> bytes:
    """As the value appears in output: undecodable bytes (surrogateescape) as themselves."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of `env` that are secrets by their variable's name, longest first."""
    values = {v for k, v in env.items() if len(v) >= MIN_VALUE and SECRET_NAME.search(k)}
    return sorted(values, key=lambda v: (-len(v), v))


class Redactor:
    """Replaces secrets by `***` in text (`.text`) or bytes (`.data`)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        values = secret_values(env or {})
        self._values: re.Pattern[bytes] | None = None
        if values:
            encoded = [_encode(v) for v in values]
            self._values = re.compile(b"|".join(re.escape(v) for v in encoded))

    def data(self, data: bytes) -> bytes:
        if self._values is not None:
            data = self._values.sub(MASK, data)
        lowered = data.lower()
        for pattern, replacement, literals in _RULES:
            if any(literal in lowered for literal in literals):
                data = pattern.sub(replacement, data)
        return data

    def text(self, text: str) -> str:
        # surrogatepass: lone surrogates (from JSON escapes, from undecodable bytes) survive
        raw = text.encode("utf-8", "surrogatepass")
        out = self.data(raw)
        return text if out == raw else out.decode("utf-8", "surrogatepass")

    def argv(self, argv: Sequence[str]) -> list[str]:
        """An argument list: each argument redacted, and the argument after a secret-named
        option (`--password X`, `--token X`, `--api-key X`, ...) replaced whole."""
        out = []
        secret_next = False
        for arg in argv:
            out.append("***" if secret_next and not arg.startswith("-") else self.text(arg))
            secret_next = bool(_SECRET_OPTION.fullmatch(arg))
        return out

    def value(self, value: object) -> object:
        """Every string inside a JSON-like value (dicts, lists) redacted; keys too."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value
