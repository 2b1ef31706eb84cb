"""One connection's state, and the dispatcher: bytes in, reply bytes out, no I/O at all.

What it is: ``Client(state)`` is what Redis calls a client: a parser for its byte
stream, the commands read but not run yet, its protocol version (2, or 3 after
``HELLO 3``), its name, and whether it must be closed after its last reply
(``QUIT``, a protocol error). Every model feeds it the same way::

    client.feed(data)               # bytes from the socket -> commands queued
    out = client.run(room=65536)    # run queued commands -> about ``room`` bytes of replies at most
    # write out; run again while client.waiting and the output has room
    # client.closing: close the connection once ``out`` has been written

``run(room)`` stops once its replies fill ``room``: that is how a connection whose
peer does not read stops costing memory. The model stops reading that socket
until the replies drain, and the unread requests wait in the kernel's buffers,
which are bounded, instead of ours.

``execute(args)`` is the dispatcher: look the command up (case-insensitively), check
its arity, call it, encode its result; an unknown command or a wrong arity gets
redis-server's exact error. The commands about the connection itself live here:
``HELLO``, ``CLIENT``, ``SELECT``, ``QUIT``, and what clients send when they
connect (``COMMAND``, ``CONFIG GET``, ``INFO``).

``ServerState`` is what all connections share: the database, client ids, counts.

What it is not: thread-safe (the threads model runs ``run`` under a lock), or a
socket handler (that is each model's job, in ``course_lib.kv.models``).
"""

from __future__ import annotations

import itertools
import os
import time

from course_lib.kv.commands import COMMANDS, c_string, command, formatted_error, integer
from course_lib.resp import Error, Parser, ProtocolError, encode

__all__ = ["Client", "ServerState", "VERSION"]

VERSION = "7.0.0"  # the redis-server whose replies this one copies
CONFIG = {b"save": b"", b"appendonly": b"no", b"databases": b"1", b"maxmemory": b"0"}


class ServerState:
    """What every connection of one server shares."""

    def __init__(self, db, model: str = "", parser_limits: dict | None = None):
        self.db, self.model = db, model
        self.parser_limits = parser_limits or {}
        self.ids = itertools.count(1)
        self.connected = 0  # clients connected now
        self.commands = 0  # commands run so far
        self.started = time.monotonic()


class Client:
    """One connection: parser, queued commands, protocol version. See the module docstring."""

    __slots__ = ("state", "db", "id", "parser", "queue", "fault", "closing", "protocol", "name", "lib")

    def __init__(self, state: ServerState):
        self.state, self.db, self.id = state, state.db, next(state.ids)
        self.parser = None  # made on the first bytes: an idle connection costs less
        self.queue = ()  # commands parsed and not run yet (a list once there are some)
        self.fault = None  # a ProtocolError to answer once the commands before it have run
        self.closing = False  # close after the replies already produced
        self.protocol, self.name, self.lib = 2, b"", None

    @property
    def waiting(self) -> bool:
        """Are there commands read and not yet run (or a fault not yet answered)?"""
        return bool(self.queue) or (self.fault is not None and not self.closing)

    def feed(self, data: bytes) -> None:
        """Parse the next bytes of the stream; complete commands join the queue."""
        if self.closing or self.fault is not None:
            return  # after QUIT or a protocol error nothing more is read
        if self.parser is None:
            self.parser = Parser(**self.state.parser_limits)
        try:
            commands = self.parser.feed(data)
        except ProtocolError as error:
            commands, self.fault = error.commands, error
        if self.queue:
            self.queue.extend(commands)
        else:
            self.queue = commands

    def run(self, room: int = 1 << 62) -> bytes:
        """Run queued commands until their replies fill ``room`` bytes; return the replies."""
        queue, execute, out, size = self.queue, self.execute, [], 0
        for args in queue:
            reply = execute(args)
            out.append(reply)
            size += len(reply)
            if size >= room or self.closing:
                break
        done = len(out)
        self.state.commands += done
        self.queue = queue[done:] if done < len(queue) and not self.closing else ()
        if self.fault is not None and not self.queue and not self.closing:
            out.append(self.fault.reply)  # the commands before the fault got their replies first
            self.closing = True
        return out[0] if len(out) == 1 else b"".join(out)

    def execute(self, args: list) -> bytes:
        """Run one command; return its encoded reply (redis-server's, byte for byte)."""
        entry = COMMANDS.get(args[0]) or COMMANDS.get(args[0].upper())
        if entry is None:
            return encode(unknown_command(args))
        if entry.subcommands is not None and len(args) > 1:
            sub = entry.subcommands.get(args[1].upper())
            if sub is None:
                return encode(formatted_error(b"ERR unknown subcommand '%b'. Try %b HELP."
                                              % (c_string(args[1])[:128], c_string(args[0]).upper()), trim=False))
            entry = sub
        arity = entry.arity
        if (arity > 0 and len(args) != arity) or len(args) < -arity:
            return b"-ERR wrong number of arguments for '%b' command\r\n" % entry.name.encode()
        try:
            return encode(entry.fn(self, args), self.protocol)
        except Error as error:
            return b"-%b\r\n" % error.message

    def __repr__(self) -> str:
        return f"<Client id={self.id}, {len(self.queue)} commands queued{', closing' if self.closing else ''}>"


def unknown_command(args) -> Error:
    """Redis's answer to a command it does not know, quoting (at most about 128 bytes of) its words."""
    quoted = b""
    for arg in args[1:]:
        if len(quoted) >= 128:
            break
        quoted += b"'%b' " % c_string(arg)[:128 - len(quoted)]
    return formatted_error(b"ERR unknown command '%b', with args beginning with: %b"
                           % (c_string(args[0])[:128], quoted), trim=False)


def _check_name(value: bytes, what: str) -> bytes:
    if any(byte < 33 or byte > 126 for byte in value):  # Redis allows '!' to '~' only
        raise Error(f"ERR {what} cannot contain spaces, newlines or special characters.")
    return value


# -- the connection --------------------------------------------------------------------
@command("quit", -1, keys=(0, 0, 0))
def quit_(c, args):
    c.closing = True
    return "OK"


@command("select", 2, keys=(0, 0, 0))
def select(c, args):
    index = integer(args[1])
    if not -2**31 <= index < 2**31:
        raise Error("ERR value is out of range, value must between -2147483648 and 2147483647")
    if index != 0:
        raise Error("ERR DB index is out of range")  # one database, as redis-server --databases 1
    return "OK"


@command("hello", -1, keys=(0, 0, 0))
def hello(c, args):
    version = c.protocol
    if len(args) >= 2:
        version = integer(args[1], "ERR Protocol version is not an integer or out of range")
        if version not in (2, 3):
            raise Error("NOPROTO unsupported protocol version")
    i = 2
    while i < len(args):
        option, more = c_string(args[i]).upper(), len(args) - 1 - i
        if option == b"AUTH" and more >= 2:  # there are no passwords here: any user is welcome
            i += 3
        elif option == b"SETNAME" and more >= 1:
            c.name = _check_name(args[i + 1], "Client names")
            i += 2
        else:
            raise formatted_error(b"ERR Syntax error in HELLO option '%b'" % c_string(args[i]))
    c.protocol = version
    return {b"server": b"redis", b"version": VERSION.encode(), b"proto": version, b"id": c.id,
            b"mode": b"standalone", b"role": b"master", b"modules": []}


@command("client", -2, keys=(0, 0, 0))
def client_help(c, args):
    return ["CLIENT <subcommand> [<arg> ...]. Subcommands are:", "ID", "GETNAME", "SETNAME <name>",
            "SETINFO <LIB-NAME|LIB-VER> <value>", "HELP"]


command("client|help", 2, keys=(0, 0, 0))(client_help)


@command("client|id", 2, keys=(0, 0, 0))
def client_id(c, args):
    return c.id


@command("client|getname", 2, keys=(0, 0, 0))
def client_getname(c, args):
    return c.name or None


@command("client|setname", 3, keys=(0, 0, 0))
def client_setname(c, args):
    c.name = _check_name(args[2], "Client names")
    return "OK"


@command("client|setinfo", 4, keys=(0, 0, 0))
def client_setinfo(c, args):
    attribute = c_string(args[2]).upper()
    if attribute not in (b"LIB-NAME", b"LIB-VER"):
        raise formatted_error(b"ERR Unrecognized option '%b'" % c_string(args[2]))
    c.lib = (attribute, _check_name(args[3], attribute.decode()))
    return "OK"


# -- what clients ask when they connect -------------------------------------------------------
def _describe(entry) -> list:
    first, last, step = entry.keys
    return [entry.name.encode(), entry.arity, [], first, last, step, [], [], [], []]


@command("command", -1, keys=(0, 0, 0))
def command_list(c, args):
    return [_describe(entry) for entry in COMMANDS.values()]


@command("command|count", 2, keys=(0, 0, 0))
def command_count(c, args):
    return len(COMMANDS)


@command("command|info", -2, keys=(0, 0, 0))
def command_info(c, args):
    entries = [COMMANDS.get(name.upper()) for name in args[2:]]
    return [None if entry is None else _describe(entry) for entry in entries]


@command("command|docs", -2, keys=(0, 0, 0))
def command_docs(c, args):
    return {}  # no documentation: redis-cli then uses the hints it was built with


@command("config", -2, keys=(0, 0, 0))
def config_help(c, args):
    return ["CONFIG <subcommand> [<arg> ...]. Subcommands are:", "GET <pattern>", "HELP"]


command("config|help", 2, keys=(0, 0, 0))(config_help)


@command("config|get", -3, keys=(0, 0, 0))
def config_get(c, args):
    from course_lib.kv.db import match

    found = {}
    for pattern in args[2:]:
        found.update((name, value) for name, value in CONFIG.items() if match(pattern.lower(), name))
    return found


@command("info", -1, keys=(0, 0, 0))
def info(c, args):
    state, db = c.state, c.db
    sections = {
        "server": {"redis_version": VERSION, "redis_mode": "standalone", "kvserver_model": state.model,
                   "process_id": os.getpid(), "uptime_in_seconds": int(time.monotonic() - state.started)},
        "clients": {"connected_clients": state.connected},
        "stats": {"total_commands_processed": state.commands, "expired_keys": db.expired},
        "keyspace": {"db0": f"keys={len(db)},expires={len(db.expires)},avg_ttl=0"} if len(db) else {},
    }
    wanted = {arg.decode("latin-1").lower() for arg in args[1:]} - {"all", "default", "everything"}
    text = "\r\n".join(f"# {name.capitalize()}\r\n" + "".join(f"{k}:{v}\r\n" for k, v in fields.items())
                       for name, fields in sections.items() if not wanted or name in wanted)
    return text.encode()
