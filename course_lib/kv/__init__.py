"""The chapter 07 key-value server, in small modules (read them in this order).

- ``course_lib.resp``: the Redis protocol, bytes <-> commands and replies;
- ``course_lib.kv.db``: the keyspace, with expiry on the loop's timers;
- ``course_lib.kv.commands``: the command table and the string commands;
- ``course_lib.kv.keyspace``: the commands about keys, deadlines (TTL) and lists;
- ``course_lib.kv.client``: one connection's state and the dispatcher, without any I/O;
- ``course_lib.kv.protocol``: one connection on asyncio's callbacks, with backpressure;
- ``course_lib.kv.models``: the same server on threads, on the course reactor, on asyncio;
- ``course_lib.kvserver``: ``serve(model=...)`` and ``python -m course_lib.kvserver``.

What it is not: Redis. It speaks enough of its protocol for ``redis-cli``,
``redis-benchmark`` and ``redis-py`` to work, with redis-server 7.0's replies.
"""

from course_lib.kv import client as _client  # noqa: F401  (registers the connection commands)
from course_lib.kv import keyspace as _keyspace  # noqa: F401  (registers the key, expiry and list commands)
from course_lib.kv.client import Client, ServerState
from course_lib.kv.commands import COMMANDS
from course_lib.kv.db import Database

__all__ = ["Client", "ServerState", "COMMANDS", "Database"]
