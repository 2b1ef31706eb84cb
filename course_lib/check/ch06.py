"""Checks of chapter 06, "Coroutines and asyncio": the module ``check("06.name", ...)`` imports.

The checks themselves are in two modules:

- ``ch06_tasks``: ``06.step`` (a Task's step), ``06.sleep``, ``06.gather`` (the first error cancels
  the rest) and ``06.timeout`` (``wait_for``), each run in programs of coroutines on the course
  ``Loop()`` and compared, event by event, with asyncio itself on a virtual clock;
- ``ch06_sockets``: ``06.client`` (chapter 04's client as a coroutine) and ``06.unblock`` (a
  server handler without its blocking call), the student's coroutines on sockets.

Importing this module registers all six, under the names ``check_step``, ``check_sleep``,
``check_client``, ``check_gather``, ``check_unblock`` and ``check_timeout``.

What it is not: a check of its own, or a copy of the answers.
"""

from __future__ import annotations

from course_lib.check.ch06_sockets import check_client, check_unblock
from course_lib.check.ch06_tasks import check_gather, check_sleep, check_step, check_timeout

__all__ = ["check_step", "check_sleep", "check_client", "check_gather", "check_unblock", "check_timeout"]
