"""course_lib: the helper package of the Event-Driven Python course.

What it is: small, readable models of how programs wait, each module meant to be
opened and read by a student next to the notebook that uses it.

- ``workload``   tasks made of cpu and io steps (the course's one workload)
- ``models``     the three programming models run on a virtual clock
- ``timeline``   segments, timelines and the one drawing function for all of them
- ``tracer``     records spans from real code so a measured run draws like a simulated one
- ``loop``       a step-able event loop that never asks which backend it has; ``handles``
  holds its handles and step records, ``timers`` its timer heap, ``waiters`` its table
  of readers and writers, ``pollers`` one small module per backend (the simulated one
  owns the virtual clock), ``simnet`` the simulated sockets of the virtual clock
- ``widgets``    the Stepper: Reset, Back, Step, Run over anything step-able
- ``threadsim``  a deterministic thread interleaving explorer
- ``slowserver`` a deliberately slow server on 127.0.0.1 for the blocking-I/O chapters
- ``reactor``, ``triggers``, ``scaling``  chapter 05: servers on the loop, level vs
  edge triggering on a simulated buffer, the cost of one wait per backend
- ``check``      exercise checks that answer with a hint, not a traceback
- ``exercises``  makes the student notebooks from the solution notebooks
- ``progress``   which exercises a student has passed
- ``grade``      ``python -m course_lib.grade``: grades a class's notebooks in sandboxes

What it is not: a production event loop or server framework. It favours being read
over being fast, and uses the names asyncio uses so what you learn here transfers.
"""

__version__ = "0.1.0"
