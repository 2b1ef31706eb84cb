"""The little language of the thread interleaving explorer: instructions, parser, static checks.

What it is: the syntax of the programs that ``course_lib.threadsim`` runs (what each
instruction *does* is listed, and done, there). A program is a list of lines, or one
string; a line holds one instruction, an operation and its comma-separated operands::

    load r, counter      store counter, 0      add r, 1      acquire L

An operand is a name (a register, a shared variable or a lock) or, where a value is read
(``store``, ``add``, ``sub``), a whole number. ``# comments`` and blank lines are ignored.

``parse(thread, program)`` turns one thread's lines into ``Instruction`` records;
``parse_programs(programs, memory)`` parses every thread and checks, before anything runs,
what would otherwise fail half-way through a run: an unknown shared variable, a register
read before it is set, a lock released by a thread that does not hold it. Every mistake
raises ``ProgramError`` naming the thread, the line and the problem.

What it is not: an interpreter. Nothing here runs a program; ``threadsim.Scheduler`` does,
one instruction per step. Programs have no jumps, so every run is finite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ProgramError", "Instruction", "parse", "parse_programs"]

_NAME = re.compile(r"^[A-Za-z_]\w*$")
_INT = re.compile(r"^[+-]?\d+$")
_OPERANDS = {"load": ("reg", "var"), "store": ("var", "src"), "add": ("reg", "src"), "sub": ("reg", "src"),
             "acquire": ("lock",), "release": ("lock",)}


class ProgramError(ValueError):
    """A program or a schedule that cannot run; the message names the problem."""


@dataclass(frozen=True)
class Instruction:
    op: str
    args: tuple
    text: str
    line: int = 0  # line number in the program as written


def parse(thread: str, program) -> tuple:
    """Turn one thread's program (a list of lines, or one string) into Instructions."""
    lines = program.splitlines() if isinstance(program, str) else program
    if isinstance(lines, (bytes, dict)) or not hasattr(lines, "__iter__"):
        raise ProgramError(f"thread {thread!r}: a program is a list of instruction strings, "
                           f"got {type(program).__name__}")
    out = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, str):
            raise ProgramError(f"thread {thread!r} line {n}: an instruction is a string like 'load r, x', got {line!r}")
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        op, _, rest = text.partition(" ")
        args = tuple(a.strip() for a in rest.split(",")) if rest.strip() else ()
        where = f"thread {thread!r} line {n} {text!r}"
        if op not in _OPERANDS:
            raise ProgramError(f"{where}: unknown instruction {op!r}; known: {', '.join(_OPERANDS)}")
        kinds = _OPERANDS[op]
        if len(args) != len(kinds):
            raise ProgramError(f"{where}: {op} takes {len(kinds)} operand{'s' * (len(kinds) > 1)}, got {len(args)}")
        for a, k in zip(args, kinds):
            if not (_NAME.match(a) or (k == "src" and _INT.match(a))):
                raise ProgramError(f"{where}: {a!r} is not a {'name or number' if k == 'src' else 'name'}")
        values = tuple(int(a) if _INT.match(a) else a for a in args)
        out.append(Instruction(op, values, f"{op} {', '.join(args)}".strip(), n))
    return tuple(out)


def _check(programs: dict, memory: dict) -> None:
    """Static checks: unknown variables, registers used before set, releasing a lock not held."""
    locks = {i.args[0] for p in programs.values() for i in p if i.op in ("acquire", "release")}
    for name in locks & set(memory):
        raise ProgramError(f"{name!r} is used both as a lock and as a shared variable")
    for thread, program in programs.items():
        regs, held = set(), []  # a list: acquiring a lock twice is allowed (and deadlocks)
        for ins in program:
            where = f"thread {thread!r} line {ins.line} {ins.text!r}"
            kinds = _OPERANDS[ins.op]
            for a, k in zip(ins.args, kinds):
                if k == "var" and a not in memory:
                    known = ", ".join(memory) or "nothing"
                    raise ProgramError(f"{where}: unknown shared variable {a!r}; memory has {known}")
                if k == "src" and isinstance(a, str) or k == "reg" and ins.op != "load":
                    if a in memory:
                        raise ProgramError(f"{where}: {a!r} is a shared variable; load it into a register first")
                    if a not in regs:
                        raise ProgramError(f"{where}: register {a!r} has no value yet; "
                                           f"set it with 'load {a}, <variable>'")
            if ins.op == "load":
                if ins.args[0] in memory:
                    raise ProgramError(f"{where}: {ins.args[0]!r} is a shared variable, not a register; "
                                       "name registers differently (e.g. r)")
                regs.add(ins.args[0])
            elif ins.op == "release":
                if ins.args[0] not in held:
                    raise ProgramError(f"{where}: releases lock {ins.args[0]!r}, which this thread does not hold there")
                held.remove(ins.args[0])
            elif ins.op == "acquire":
                held.append(ins.args[0])


def parse_programs(programs: dict, memory: dict) -> dict:
    """Parse every thread of ``programs`` ({thread name: lines}) and check them against ``memory``.

    Returns {thread name: tuple of Instructions}; raises ``ProgramError`` on the first problem.
    """
    if not isinstance(programs, dict) or not programs:
        raise ProgramError(f"programs must be a non-empty dict {{thread name: list of instructions}}, got {programs!r}")
    for k, v in memory.items():
        if not isinstance(k, str) or not _NAME.match(k) or isinstance(v, bool) or not isinstance(v, int):
            raise ProgramError(f"memory must map variable names to integers, got {k!r}: {v!r}")
    parsed = {str(t): parse(t, p) for t, p in programs.items()}
    _check(parsed, memory)
    return parsed
