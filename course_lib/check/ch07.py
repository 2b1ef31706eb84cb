"""Checks of chapter 07 (the capstone server): the module ``check("07.name", ...)`` imports.

The checks themselves are in two modules, one per pair of exercises:

- ``ch07_protocol``: ``07.parser`` (an incremental RESP parser, against ``course_lib.resp.Parser``)
  and ``07.getrange`` (a command of your own, byte for byte as redis-server 7.0);
- ``ch07_server``: ``07.expiry`` (keys that expire, on a clock the check moves) and
  ``07.handler`` (a connection handler on the course reactor: pipelining, backpressure).

Importing this module registers all four, under the names ``check_parser``, ``check_expiry``,
``check_handler`` and ``check_getrange``.

What it is not: a check of its own, or a timing test.
"""

from __future__ import annotations

from course_lib.check.ch07_protocol import check_getrange, check_parser
from course_lib.check.ch07_server import check_expiry, check_handler

__all__ = ["check_parser", "check_expiry", "check_handler", "check_getrange"]
