"""course_lib: the helper package of the Event-Driven Python course.

What it is: small, readable models of how programs wait, each module meant to be
opened and read by a student next to the notebook that uses it. By chapter:

- 01 ``workload``   tasks made of cpu and io steps (the course's one workload)
     ``models``     the three programming models run on a virtual clock
     ``segments``   what every drawing is made of: (task, kind, start, end) bars, no pictures
     ``timeline``   the one drawing module: matplotlib and SVG from one style table
     ``figures``    ``describe(fig, text)``: the alt text a figure carries into every copy
     ``tracer``     records spans from real code so a measured run draws like a simulated one
- 02 ``slowserver`` a deliberately slow server on 127.0.0.1 for the blocking-I/O chapters
- 03 ``threadsim``  a deterministic thread interleaving explorer; ``threadprog`` its programs
- 04 ``loop``       a step-able event loop that never asks which backend it has: ``handles``
                    (handles and step records), ``timers`` (the timer heap), ``waiters``
                    (readers and writers), ``pollers`` (one small module per backend; the
                    simulated one owns the virtual clock)
     ``simnet``     simulated sockets on the virtual clock; ``simservers`` the servers on them
     ``virtualclock`` asyncio's own loop driven by a virtual clock, the course's oracle
- 05 ``reactor``    servers and transports on the loop over select/poll/epoll/kqueue
     ``triggers``   level vs edge triggering on a simulated kernel buffer (``KernelBuffer``)
     ``scaling``    what one wait costs per backend as idle sockets grow
- 06 ``futures``, ``tasks``  ``Future``, ``Task``, ``sleep``, ``gather``, ``wait_for``
     ``coroloop``   what makes the loop run coroutines (and asyncio's own code)
- 07 ``resp``       the Redis protocol (RESP2), parsed incrementally; ``inline`` its inline form
     ``kv``         the key-value server: keyspace, commands, protocol, client, the models
                    it runs on (threads, reactor, asyncio, coroutines), lab and load tools
     ``kvserver``   ``serve(model=...)`` and ``python -m course_lib.kvserver``

The tools around the chapters:

- ``widgets``    the Stepper: Reset, Back, Step, Run over anything step-able; ``steppable``
  the protocol it drives, ``stepview`` what it shows
- ``quiz``       the self-check at the end of every chapter
- ``validate``   one rule per kind of argument: a wrong one names itself and what was expected
- ``check``      exercise checks that answer with a hint, not a traceback; ``registry``
  the public list of exercises the grader and progress use
- ``exercises``  makes the student notebooks from the solution notebooks
- ``progress``   which exercises a student has passed
- ``grade``      ``python -m course_lib.grade``: grades a class's notebooks in sandboxes

What it is not: a production event loop or server framework. It favours being read
over being fast, and uses the names asyncio uses so what you learn here transfers.
"""

__version__ = "0.1.0"
