"""Commands about keys, their deadlines, and lists: the rest of the command table.

What it is: ``DEL EXISTS TYPE EXPIRE PEXPIRE TTL PTTL PERSIST KEYS DBSIZE FLUSHDB
FLUSHALL``, and ``RPUSH LPUSH LLEN LRANGE``: a list type exists so that a key can
hold a value of the wrong type for ``GET`` or ``INCR``, and ``WRONGTYPE`` is a real
answer. They join ``COMMANDS`` through the same ``@command`` decorator as the string
commands in ``course_lib.kv.commands``, with redis-server 7.0's replies.

A deadline is kept in Unix milliseconds; ``EXPIRE k 10`` at time ``now`` sets
``now + 10000``, and a deadline that is already past deletes the key at once (that
is what Redis does). ``TTL`` rounds to the nearest second, ``PTTL`` does not.

What it is not: Redis's lists (no LPOP, LINDEX, blocking pops...), sets, hashes or streams.
"""

from __future__ import annotations

import collections
import itertools

from course_lib.kv.commands import LLONG_MAX, SYNTAX, WRONGTYPE, Error, c_string, command, formatted_error, integer
from course_lib.kv.db import match


# -- keys and their time to live ---------------------------------------------------------
@command("del", -2, keys=(1, -1, 1))
def del_(c, args):
    return sum(c.db.delete(key) for key in args[1:])


@command("exists", -2, keys=(1, -1, 1))
def exists(c, args):
    return sum(c.db.lookup(key) is not None for key in args[1:])


@command("type", 2)
def type_(c, args):
    value = c.db.lookup(args[1])
    return "none" if value is None else "string" if type(value) is bytes else "list"


def _expire(c, args, unit_ms: int, name: str):
    options = set()
    for arg in args[3:]:
        option = c_string(arg).upper()
        if option not in (b"NX", b"XX", b"GT", b"LT"):
            raise formatted_error(b"ERR Unsupported option " + c_string(arg))
        options.add(option)
    if b"NX" in options and options & {b"XX", b"GT", b"LT"}:
        raise Error("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"GT" in options and b"LT" in options:
        raise Error("ERR GT and LT options at the same time are not compatible")
    when, now = integer(args[2]), c.db.now_ms()
    too_far = f"ERR invalid expire time in '{name}' command"
    if unit_ms == 1000 and not -(2**63 // 1000) <= when <= LLONG_MAX // 1000:  # C division truncates
        raise Error(too_far)
    when *= unit_ms
    if when > LLONG_MAX - now:
        raise Error(too_far)
    when += now
    key = args[1]
    if c.db.lookup(key) is None:
        return 0
    current = c.db.expires.get(key)
    if ((b"NX" in options and current is not None) or (b"XX" in options and current is None)
            or (b"GT" in options and (current is None or when <= current))
            or (b"LT" in options and current is not None and when >= current)):
        return 0
    if when <= now:  # a deadline in the past deletes at once
        c.db.delete(key)
    else:
        c.db.set_expire(key, when)
    return 1


@command("expire", -3)
def expire(c, args):
    return _expire(c, args, 1000, "expire")


@command("pexpire", -3)
def pexpire(c, args):
    return _expire(c, args, 1, "pexpire")


def _ttl(c, key, unit_ms: int) -> int:
    if c.db.lookup(key) is None:
        return -2
    ms = c.db.ttl_ms(key)
    return -1 if ms is None else ms if unit_ms == 1 else (ms + 500) // 1000


@command("ttl", 2)
def ttl(c, args):
    return _ttl(c, args[1], 1000)


@command("pttl", 2)
def pttl(c, args):
    return _ttl(c, args[1], 1)


@command("persist", 2)
def persist(c, args):
    return int(c.db.lookup(args[1]) is not None and c.db.persist(args[1]))


@command("keys", 2, keys=(0, 0, 0))
def keys(c, args):
    if args[1] == b"*":
        return c.db.keys()
    return [key for key in c.db.keys() if match(args[1], key)]


@command("dbsize", 1, keys=(0, 0, 0))
def dbsize(c, args):
    return len(c.db)


@command("flushdb", -1, keys=(0, 0, 0))
def flushdb(c, args):
    if len(args) > 2 or (len(args) == 2 and c_string(args[1]).upper() not in (b"SYNC", b"ASYNC")):
        raise Error(SYNTAX)
    c.db.flush()
    return "OK"


command("flushall", -1, keys=(0, 0, 0))(flushdb)


# -- lists: just enough for a second type -------------------------------------------------
def list_value(c, key, create: bool = False):
    value = c.db.lookup(key)
    if value is None and create:
        value = collections.deque()
        c.db.set(key, value)
    if value is None or type(value) is collections.deque:
        return value
    raise Error(WRONGTYPE)


@command("rpush", -3)
def rpush(c, args):
    items = list_value(c, args[1], create=True)
    items.extend(args[2:])
    return len(items)


@command("lpush", -3)
def lpush(c, args):
    items = list_value(c, args[1], create=True)
    items.extendleft(args[2:])
    return len(items)


@command("llen", 2)
def llen(c, args):
    return len(list_value(c, args[1]) or ())


@command("lrange", 4)
def lrange(c, args):
    start, end = integer(args[2]), integer(args[3])
    items = list_value(c, args[1]) or ()
    n = len(items)
    start, end = max(0, start + n if start < 0 else start), end + n if end < 0 else end
    if start > end or start >= n:
        return []
    return list(itertools.islice(items, start, min(end, n - 1) + 1))
