"""Bad-input cases, one module per command group, each a CASES list run by
tests/test_bad_input.py. A new option gets its cases beside its siblings' here.

Placeholders in argv (str.format): {file} an existing regular file, {dir} an existing empty
directory, {missing} a path that does not exist (its parent does), {fifo} a FIFO, {long} 500
characters, {tenant} a tenant's slug, {uuid} a fresh UUID, {keys} a valid key file, {tmp} the
test's own directory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """pbl ARGV exits with CODE and says SAYS (case-insensitive) on stderr; never an internal
    error or a traceback, never an echo of 80+ characters of {long}."""

    argv: tuple[str, ...]
    code: int
    says: str
    stdin: bytes | None = None
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or " ".join(self.argv)[:60]


def case(
    *argv: str, code: int = 2, says: str = "", stdin: bytes | None = None, name: str = ""
) -> Case:
    return Case(tuple(argv), code, says, stdin, name)
