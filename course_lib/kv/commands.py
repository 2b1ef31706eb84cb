"""The command table: what each command does to the database, and what it replies.

What it is: one dict, ``COMMANDS``, from a command's name (upper case bytes) to a
``Command``: its function, its *arity* (as Redis counts it: ``2`` means exactly two
words, ``GET key``; ``-2`` means at least two, ``DEL key [key ...]``) and, for
container commands such as ``CLIENT``, a table of subcommands. A command function
takes the connection (``c``: ``c.db`` is the database) and the command's words, and
returns a plain Python value that ``course_lib.resp.encode`` turns into the reply:
``"OK"``, ``b"value"``, ``3``, ``None``, a list. It raises ``Error`` for an error
reply. The dispatcher (``course_lib.kv.client``) looks the command up and checks
the arity, so a function can trust ``len(args)``.

This module has the table, the helpers every command uses, and the string
commands; ``course_lib.kv.keyspace`` adds the commands about keys, deadlines and
lists, ``course_lib.kv.client`` those about the connection. Every reply, errors
included, is redis-server 7.0's, byte for byte: the same checks in the same order
(``INCRBY k x`` complains about ``x`` before looking at ``k``), the same texts.

What it is not: all of Redis. No hashes, sets, transactions, scripts, pub/sub,
persistence or replication; one database (``SELECT 0``), as with
``redis-server --databases 1``.
"""

from __future__ import annotations

from course_lib.resp import LLONG_MAX, LLONG_MIN, MAX_BULK, Error, parse_int

__all__ = ["COMMANDS", "Command", "command", "c_string", "formatted_error", "integer"]

SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Command:
    """One entry of the table: ``fn(c, args)``, its arity, its subcommands (or None)."""

    __slots__ = ("name", "fn", "arity", "subcommands", "keys")

    def __init__(self, name: str, fn, arity: int, keys=(1, 1, 1)):
        self.name, self.fn, self.arity, self.keys = name, fn, arity, keys
        self.subcommands = None

    def __repr__(self) -> str:
        return f"<Command {self.name} arity {self.arity}>"


COMMANDS: dict[bytes, Command] = {}


def command(name: str, arity: int, keys=(1, 1, 1)):
    """Decorator: put ``fn`` in the table as ``name`` (``"client|setname"`` for a subcommand)."""
    def register(fn):
        entry = Command(name, fn, arity, keys)
        container, _, sub = name.upper().encode().partition(b"|")
        if sub:
            table = COMMANDS[container].subcommands
            if table is None:
                table = COMMANDS[container].subcommands = {}
            table[sub] = entry
        else:
            COMMANDS[container] = entry
        return fn
    return register


def c_string(arg: bytes) -> bytes:
    """``arg`` as C code sees it through ``%s`` or ``strcasecmp``: up to its first zero byte."""
    return arg.partition(b"\0")[0]


_CRLF_TO_SPACES = bytes.maketrans(b"\r\n", b"  ")


def formatted_error(text: bytes, trim: bool = True) -> Error:
    """An error whose text quotes the client's words, cleaned as Redis cleans it: CR and LF
    at the end dropped (``trim``), CR and LF inside turned into spaces."""
    return Error((text.rstrip(b"\r\n") if trim else text).translate(_CRLF_TO_SPACES))


def integer(arg: bytes, message: str = NOT_INTEGER) -> int:
    value = parse_int(arg)
    if value is None:
        raise Error(message)
    return value


def string_value(c, key):
    """The string under ``key`` (bytes), None if there is none, WRONGTYPE if it is not a string."""
    value = c.db.lookup(key)
    if value is None or type(value) is bytes:
        return value
    raise Error(WRONGTYPE)


# -- strings -------------------------------------------------------------------------
@command("get", 2)
def get(c, args):
    value = c.db.lookup(args[1])  # string_value() written out: GET is the command run most
    if value is None or type(value) is bytes:
        return value
    raise Error(WRONGTYPE)


@command("getdel", 2)
def getdel(c, args):
    value = string_value(c, args[1])
    if value is not None:
        c.db.delete(args[1])
    return value


# option -> (options it cannot follow, takes a value): Redis's parseExtendedStringArguments
SET_OPTIONS = {
    b"NX": ({b"XX"}, False), b"XX": ({b"NX"}, False), b"GET": (set(), False),
    b"KEEPTTL": ({b"EX", b"PX", b"EXAT", b"PXAT"}, False),
    b"EX": ({b"KEEPTTL", b"PX", b"EXAT", b"PXAT"}, True),
    b"PX": ({b"KEEPTTL", b"EX", b"EXAT", b"PXAT"}, True),
    b"EXAT": ({b"KEEPTTL", b"EX", b"PX", b"PXAT"}, True),
    b"PXAT": ({b"KEEPTTL", b"EX", b"EXAT", b"PX"}, True),
}


@command("set", -3)
def set_(c, args):
    if len(args) == 3:  # no options: the common case, made short
        c.db.set(args[1], args[2])
        return "OK"
    flags, unit, deadline, i = set(), None, None, 3
    while i < len(args):
        option = c_string(args[i]).upper()
        rule = SET_OPTIONS.get(option)
        if rule is None or flags & rule[0] or (rule[1] and i + 1 == len(args)):
            raise Error(SYNTAX)
        flags.add(option)
        if rule[1]:
            unit, deadline = option, args[i + 1]
            i += 1
        i += 1
    if deadline is not None:
        ms = integer(deadline)
        if ms <= 0 or (unit in (b"EX", b"EXAT") and ms > LLONG_MAX // 1000):
            raise Error("ERR invalid expire time in 'set' command")
        ms *= 1000 if unit in (b"EX", b"EXAT") else 1
        ms += c.db.now_ms() if unit in (b"EX", b"PX") else 0
        if ms > LLONG_MAX:
            raise Error("ERR invalid expire time in 'set' command")
        deadline = ms
    old = string_value(c, args[1]) if b"GET" in flags else None
    found = c.db.lookup(args[1]) is not None
    if (b"NX" in flags and found) or (b"XX" in flags and not found):
        return old  # not set: null, or the old value for SET ... GET
    c.db.set(args[1], args[2], keep_ttl=b"KEEPTTL" in flags)
    if deadline is not None:
        c.db.set_expire(args[1], deadline)
    return old if b"GET" in flags else "OK"


def _add(c, key, by: int) -> int:
    value = string_value(c, key)
    current = 0 if value is None else integer(value)
    if (by < 0 and current < 0 and by < LLONG_MIN - current) or (by > 0 and current > 0 and by > LLONG_MAX - current):
        raise Error("ERR increment or decrement would overflow")
    c.db.set(key, b"%d" % (current + by), keep_ttl=True)
    return current + by


@command("incr", 2)
def incr(c, args):
    return _add(c, args[1], 1)


@command("decr", 2)
def decr(c, args):
    return _add(c, args[1], -1)


@command("incrby", 3)
def incrby(c, args):
    return _add(c, args[1], integer(args[2]))


@command("decrby", 3)
def decrby(c, args):
    by = integer(args[2])
    if by == LLONG_MIN:
        raise Error("ERR decrement would overflow")
    return _add(c, args[1], -by)


@command("append", 3)
def append(c, args):
    value = string_value(c, args[1])
    if value is not None and len(value) + len(args[2]) > MAX_BULK:
        raise Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    value = args[2] if value is None else value + args[2]
    c.db.set(args[1], value, keep_ttl=True)
    return len(value)


@command("strlen", 2)
def strlen(c, args):
    return len(string_value(c, args[1]) or b"")


@command("mget", -2, keys=(1, -1, 1))
def mget(c, args):
    lookup = c.db.lookup
    return [value if type(value) is bytes else None for value in map(lookup, args[1:])]


@command("mset", -3, keys=(1, -1, 2))
def mset(c, args):
    if len(args) % 2 == 0:
        raise Error("ERR wrong number of arguments for 'mset' command")
    for i in range(1, len(args), 2):
        c.db.set(args[i], args[i + 1])
    return "OK"


# -- the simplest ones ------------------------------------------------------------------------
@command("ping", -1, keys=(0, 0, 0))
def ping(c, args):
    if len(args) > 2:
        raise Error("ERR wrong number of arguments for 'ping' command")
    return "PONG" if len(args) == 1 else args[1]


@command("echo", 2, keys=(0, 0, 0))
def echo(c, args):
    return args[1]
