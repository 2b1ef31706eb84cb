"""The grader's own code inside a graded kernel (imported by the grader's first cell).

What it is: three functions the worker's cells call, in this order:

1. ``install(secret_path, report_path)`` (first cell, before any student code): reads and
   deletes the per-run secret file (a random nonce and the hidden seeds), opens the report
   file, and keeps ``os.write``, ``repr`` and friends in a closure.
2. ``seal(exercise_ids)`` (right after the pristine setup cell, still before any student code):
   imports the checks of every exercise this notebook checks, and snapshots the registry of
   exercises (``registry.snapshot()``), the ``course_lib`` modules, a few standard modules
   (``builtins``, ``random``, ``sys.stdout`` ...), and the code of every function and class
   defined in ``course_lib``.
3. ``run(key, exercise_id, *objects)`` replaces ``check(...)`` in every pristine check cell:
   it undoes patches (``builtins`` first, with dict methods and functions captured at install,
   then module globals, function code, class attributes, trace and profile hooks, the
   recursion limit, stdout/stderr, the registry), then calls the genuine ``check`` once as the notebook does
   and once per hidden seed with ``extra=True``, and writes one line per run to the report
   file: ``repr((nonce, "run", key, run, passed, hint, exercise_id))``. ``cell(key, source)`` does the same
   for a graded cell that is not a ``check(...)`` call (pass = no exception), ``done()`` ends.

The worker trusts only report lines that carry the nonce, so printing fake pass lines,
replacing ``check``, ``CheckFailed`` or these functions, or raising inside them can only lose
points: a run that does not report counts as failed.

What it is not: a security boundary against a student who reads this file and walks the
interpreter's memory (``gc``, frames, ``ctypes``) to find the nonce; see the threat model
in ``course_lib/grade/__init__.py``.
"""

from __future__ import annotations

GUARDED_STDLIB = (
    "builtins", "random", "math", "time", "json", "functools", "itertools", "operator",
    "collections", "heapq", "socket", "select", "selectors", "threading", "asyncio", "os", "sys",
)


def install(secret_path: str, report_path: str):
    import builtins
    import os
    import sys
    import threading
    import types

    with open(secret_path) as f:
        secret = f.read().split()
    os.unlink(secret_path)
    nonce, seeds = secret[0], [int(s) for s in secret[1:]]
    fd = os.open(report_path, os.O_WRONLY | os.O_APPEND)
    os.unlink(report_path)  # the worker holds its own descriptor; nobody can open it by name any more
    write, _repr, _type, _str, _len, _isinstance = os.write, repr, type, str, len, isinstance
    FunctionType = types.FunctionType
    modules = sys.modules
    try:
        from IPython import get_ipython

        user_ns = get_ipython().user_ns
    except Exception:
        user_ns = {}
    builtins_dict = vars(builtins)  # put back first, with dict methods only, before anything else runs
    builtins_snapshot = dict(builtins_dict)
    hooks = (sys.settrace, sys.setprofile, threading.settrace, threading.setprofile, sys.setrecursionlimit)
    saved_streams = (sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)
    recursion_limit = sys.getrecursionlimit()
    used = set()
    state = {"sealed": False, "snaps": [], "funcs": [], "classes": [], "check": None, "failed": None}

    def report(*fields):
        try:
            write(fd, (_repr((nonce,) + fields) + "\n").encode())
        except BaseException:
            pass

    def text(value, limit=300):
        return (value if _type(value) is _str else "(unprintable hint)")[:limit]

    def keep_code(name, snapshot):
        """Remember the code of the functions and the attributes of the Python classes defined in a module."""
        for value in snapshot.values():
            if getattr(value, "__module__", None) != name:
                continue
            if _type(value) is FunctionType:
                state["funcs"].append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
            elif _isinstance(value, type) and value.__flags__ & (1 << 9):  # a heap type: a class written in Python
                attrs = {k: v for k, v in vars(value).items() if k not in ("__dict__", "__weakref__")}
                state["classes"].append((value, attrs))
                for v in attrs.values():
                    if _type(v) is FunctionType:
                        state["funcs"].append((v, v.__code__, v.__defaults__, v.__kwdefaults__))

    def seal(exercise_ids=()):
        import importlib

        check_module = importlib.import_module("course_lib.check")
        registry = importlib.import_module("course_lib.registry")
        for exercise_id in exercise_ids:  # import the chapter's check module now, so it is in the snapshot
            try:
                registry.lookup(exercise_id)
            except BaseException:
                pass
        for name in sorted(modules):
            mod = modules.get(name)
            if mod is None or not (name == "course_lib" or name.startswith("course_lib.") or name in GUARDED_STDLIB):
                continue
            snapshot = dict(vars(mod))
            state["snaps"].append((name, mod, snapshot))
            keep_code(name, snapshot)
        state["registry"], state["restore_registry"] = registry.snapshot(), registry.restore
        for entry in state["registry"].values():  # keep each check's code, also of checks outside course_lib
            f = entry.function
            if _type(f) is FunctionType:
                state["funcs"].append((f, f.__code__, f.__defaults__, f.__kwdefaults__))
        owners = {getattr(entry.function, "__module__", None) for entry in state["registry"].values()}
        for name in sorted(n for n in owners if n and not n.startswith("course_lib") and n in modules):
            mod = modules[name]
            snapshot = dict(vars(mod))
            state["snaps"].append((name, mod, snapshot))
            keep_code(name, snapshot)
        state["check"], state["failed"] = check_module.check, check_module.CheckFailed
        state["threads"] = set(threading.enumerate())
        state["sealed"] = True
        report("sealed")

    def restore():
        for key, value in builtins_snapshot.items():
            if builtins_dict.get(key, builtins_dict) is not value:
                builtins_dict[key] = value
        settrace, setprofile, thread_settrace, thread_setprofile, setrecursionlimit = hooks
        settrace(None)
        setprofile(None)
        thread_settrace(None)
        thread_setprofile(None)
        setrecursionlimit(recursion_limit)
        sys.stdout, sys.stderr, sys.displayhook, sys.excepthook = saved_streams
        for name, mod, snapshot in state["snaps"]:
            modules[name] = mod
            d = vars(mod)
            for key, value in snapshot.items():
                if d.get(key, d) is not value:
                    d[key] = value
        for func, code, defaults, kwdefaults in state["funcs"]:
            try:
                func.__code__, func.__defaults__, func.__kwdefaults__ = code, defaults, kwdefaults
            except (ValueError, TypeError):
                pass
        for cls, attrs in state["classes"]:
            for key, value in attrs.items():
                if vars(cls).get(key, attrs) is not value:
                    try:
                        setattr(cls, key, value)
                    except (AttributeError, TypeError):
                        pass
        state["restore_registry"](state["registry"])  # its entries are tuples: only the dict can change

    def one_run(exercise_id, objects, index):
        """(passed, hint) of one call of the genuine check; index 0 is the notebook's own run."""
        try:
            restore()
            if index == 0:
                state["check"](exercise_id, *objects)
            else:
                state["check"](exercise_id, *objects, extra=True, seed=seeds[index - 1])
            return True, ""
        except state["failed"] as failure:
            return False, text(getattr(failure, "hint", "the check failed"))
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # SystemExit, GeneratorExit, exotic BaseExceptions from student code
            return False, f"your code raised {text(_type(error).__name__, 80)}"

    def claim(key):
        """Each key (grade id, call number, a random token only the rewritten cell holds) runs once."""
        if not state["sealed"] or key in used:
            report("refused", text(_str(key), 100))
            return False
        used.add(key)
        return True

    def run(key, exercise_id, *objects, **_ignored):
        if not claim(key):
            return
        try:
            restore()
        except BaseException:
            pass
        try:
            extra_threads = [t for t in threading.enumerate() if t not in state["threads"] and t.is_alive()]
            if extra_threads:  # they run alongside the checks: worth a look by a human
                report("threads", key, _len(extra_threads))
        except BaseException:
            pass
        named = text(exercise_id if _type(exercise_id) is _str else "", 100)
        interrupted = False
        for index in range(1 + _len(seeds)):
            if interrupted:
                report("run", key, index, False, "not run: the cell's time limit was reached", named)
                continue
            try:
                passed, hint = one_run(exercise_id, objects, index)
            except KeyboardInterrupt:
                interrupted, passed, hint = True, False, "stopped: the cell's time limit was reached"
            report("run", key, index, passed, hint, named)
        try:
            restore()
        except BaseException:
            pass

    def cell(key, source, _namespace=None):  # the namespace is the one captured at install, not a caller's
        if not claim(key):
            return
        try:
            restore()
            exec(compile(source, f"<graded cell {key}>", "exec"), user_ns)
            passed, hint = True, ""
        except BaseException as error:
            message = ""
            try:
                message = _str(error).splitlines()[0] if _str(error) else ""
            except BaseException:
                pass
            passed, hint = False, text(f"{_type(error).__name__}{': ' + message if message else ''}")
        report("run", key, 0, passed, hint, "")
        restore()

    def done():
        report("done")

    report("installed")
    return types.SimpleNamespace(seal=seal, run=run, cell=cell, done=done)
