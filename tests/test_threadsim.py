"""Tests of course_lib.threadsim: the interleaving explorer.

The explorer is compared against an independent brute force: a separate tiny
interpreter below runs every ordering of the threads' steps (every multiset
permutation of thread names) and keeps the valid ones.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_lib.threadsim import ProgramError, Scheduler, interleavings, search

INC = ["load r, counter", "add r, 1", "store counter, r"]
LOCKED_INC = ["acquire L"] + INC + ["release L"]


# -- an independent reference interpreter -----------------------------------------------------

def ref_run(programs, memory, order):
    """Run ``order`` (thread names) step by step. Returns (steps_taken, memory, status) where
    status is 'ok' (all steps ran), 'invalid' (a blocked/finished thread was scheduled while
    another could run) or 'deadlock' (nobody could run, not all finished)."""
    mem, pcs = dict(memory), {t: 0 for t in programs}
    regs, owner = {t: {} for t in programs}, {}

    def can_run(t):
        if pcs[t] >= len(programs[t]):
            return False
        op, args = programs[t][pcs[t]]
        return not (op == "acquire" and owner.get(args[0]) is not None)

    for k, t in enumerate(order):
        if not can_run(t):
            stuck = not any(can_run(u) for u in programs)
            unfinished = any(pcs[u] < len(programs[u]) for u in programs)
            return k, mem, "deadlock" if stuck and unfinished else "invalid"
        op, args = programs[t][pcs[t]]
        r = regs[t]

        def value(a, r=r):
            return a if isinstance(a, int) else r[a]
        if op == "load":
            r[args[0]] = mem[args[1]]
        elif op == "store":
            mem[args[0]] = value(args[1])
        elif op == "add":
            r[args[0]] = r[args[0]] + value(args[1])
        elif op == "sub":
            r[args[0]] = r[args[0]] - value(args[1])
        elif op == "acquire":
            owner[args[0]] = t
        elif op == "release":
            assert owner[args[0]] == t
            owner[args[0]] = None
        pcs[t] += 1
    if any(pcs[u] < len(programs[u]) for u in programs):
        return len(order), mem, "deadlock" if not any(can_run(u) for u in programs) else "invalid"
    return len(order), mem, "ok"


def multiset_orders(counts):
    """Every sequence using each thread name exactly counts[name] times."""
    if not any(counts.values()):
        yield ()
        return
    for t in counts:
        if counts[t]:
            counts[t] -= 1
            for rest in multiset_orders(counts):
                yield (t,) + rest
            counts[t] += 1


def brute_force(programs, memory):
    """{maximal valid schedule: (final memory, deadlocked)} by trying every ordering."""
    outcomes = {}
    for order in multiset_orders({t: len(p) for t, p in programs.items()}):
        n, mem, status = ref_run(programs, memory, order)
        if status != "invalid":
            outcomes[order[:n]] = (mem, status == "deadlock")
    return outcomes


def render(programs):
    return {t: [f"{op} {', '.join(map(str, args))}" for op, args in p] for t, p in programs.items()}


# -- random small programs ---------------------------------------------------------------------

VARS, REGS, LOCKS = ["x", "y"], ["r", "s"], ["A", "B"]


@st.composite
def thread_program(draw, length):
    prog, loaded, held = [], set(), []
    for _ in range(length):
        choices = ["load", "acquire", "store"]
        if loaded:
            choices += ["add", "sub"]
        if held:
            choices += ["release"]
        op = draw(st.sampled_from(choices))
        src = st.sampled_from(sorted(loaded)) | st.integers(-3, 3) if loaded else st.integers(-3, 3)
        if op == "load":
            reg = draw(st.sampled_from(REGS))
            prog.append(("load", (reg, draw(st.sampled_from(VARS)))))
            loaded.add(reg)
        elif op == "store":
            prog.append(("store", (draw(st.sampled_from(VARS)), draw(src))))
        elif op in ("add", "sub"):
            prog.append((op, (draw(st.sampled_from(sorted(loaded))), draw(src))))
        elif op == "acquire":
            lock = draw(st.sampled_from(LOCKS))
            prog.append(("acquire", (lock,)))
            held.append(lock)
        else:
            lock = draw(st.sampled_from(held))
            prog.append(("release", (lock,)))
            held.remove(lock)
    return prog


@st.composite
def programs_strategy(draw, max_total=8):
    n = draw(st.integers(1, 3))
    lengths = [draw(st.integers(0, 4)) for _ in range(n)]
    while sum(lengths) > max_total:
        lengths[lengths.index(max(lengths))] -= 1
    return {f"T{i + 1}": draw(thread_program(L)) for i, L in enumerate(lengths)}


MEMORY = {"x": 0, "y": 1}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_valid_history(programs, sim):
    """Each thread's steps in program order; an acquire only of a free lock; a release only by the owner."""
    done, owner = {t: 0 for t in programs}, {}
    for thread, pc, ins, _before in sim.history:
        assert pc == done[thread], f"{thread} stepped out of program order"
        op, args = programs[thread][pc]
        assert ins.op == op
        if op == "acquire":
            assert owner.get(args[0]) is None, f"{thread} stepped while blocked on {args[0]}"
            owner[args[0]] = thread
        elif op == "release":
            assert owner.get(args[0]) == thread
            owner[args[0]] = None
        assert sum(1 for v in owner.values() if v == thread) <= len(programs[thread])
        done[thread] += 1
    assert sim.schedule == [h[0] for h in sim.history]
    assert sim.done and (sim.finished or sim.deadlocked)


@SETTINGS
@given(programs_strategy())
def test_every_explored_interleaving_is_valid_and_matches_brute_force(programs):
    runs = list(interleavings(render(programs), MEMORY))
    for sim in runs:
        assert_valid_history(programs, sim)
    got = {tuple(sim.schedule): (dict(sim.memory), sim.deadlocked) for sim in runs}
    assert len(got) == len(runs), "the explorer produced a schedule twice"
    assert got == brute_force(programs, MEMORY)


@SETTINGS
@given(programs_strategy(), st.integers(-2, 3))
def test_search_verdict_agrees_with_brute_force(programs, target):
    bad_outcomes = [s for s, (mem, dead) in brute_force(programs, MEMORY).items() if dead or mem["x"] != target]
    result = search(render(programs), MEMORY, lambda m: m["x"] == target)
    assert result.exhaustive
    if bad_outcomes:
        assert result.schedule is not None and tuple(result.schedule) in bad_outcomes
        n, mem, status = ref_run(programs, MEMORY, result.schedule)
        assert status == "deadlock" or mem["x"] != target
        assert result.problem == ("deadlock" if status == "deadlock" else "invariant broken")
    else:
        assert result.schedule is None
        assert result.explored == len(brute_force(programs, MEMORY))


@SETTINGS
@given(programs_strategy(max_total=10), st.integers(0, 10**6))
def test_random_search_runs_valid_schedules_reproducibly(programs, seed):
    first = search(render(programs), MEMORY, lambda m: False, tries=5, seed=seed)  # every run is "bad"
    assert first.explored == 1 and not first.exhaustive
    n, mem, status = ref_run(programs, MEMORY, first.schedule)
    assert status in ("ok", "deadlock") and n == len(first.schedule) and mem == first.memory
    again = search(render(programs), MEMORY, lambda m: False, tries=5, seed=seed)
    assert again.schedule == first.schedule


# -- the three classic results ---------------------------------------------------------------

def test_lost_update_is_found():
    result = search({"T1": INC, "T2": INC}, {"counter": 0}, lambda m: m["counter"] == 2)
    assert result.problem == "invariant broken" and result.memory == {"counter": 1}
    sim = Scheduler({"T1": INC, "T2": INC}, {"counter": 0}, schedule=result.schedule).run()
    assert sim.memory["counter"] == 1
    outcomes = [sim.memory["counter"] for sim in interleavings({"T1": INC, "T2": INC}, {"counter": 0})]
    assert len(outcomes) == 20 and outcomes.count(2) == 2  # only the two "one after the other" orders are right


def test_random_search_finds_the_lost_update_too():
    incs = {f"T{i}": INC for i in range(1, 5)}
    result = search(incs, {"counter": 0}, lambda m: m["counter"] == 4, tries=200, seed=1)
    assert result.schedule is not None and result.memory["counter"] < 4


def test_a_lock_removes_every_bad_interleaving():
    for n in (2, 3):
        result = search({f"T{i}": LOCKED_INC for i in range(n)}, {"counter": 0}, lambda m, n=n: m["counter"] == n)
        assert result.schedule is None and result.exhaustive
        assert result.explored == {2: 2, 3: 6}[n]  # the critical sections can only go one after another
        assert "no bad schedule" in str(result)


def test_two_locks_in_opposite_orders_deadlock():
    programs = {"T1": ["acquire A", "acquire B", "release B", "release A"],
                "T2": ["acquire B", "acquire A", "release A", "release B"]}
    result = search(programs)
    assert result.problem == "deadlock"
    sim = Scheduler(programs, schedule=result.schedule).run()
    assert sim.deadlocked and sim.done and not sim.finished
    assert {t["state"] for t in sim.snapshot()["threads"]} == {"blocked on A", "blocked on B"}
    assert "DEADLOCK" in sim.last
    same_order = {"T1": programs["T1"], "T2": programs["T1"]}
    assert search(same_order).schedule is None


# -- the steppable protocol --------------------------------------------------------------------

def test_steppable_protocol_and_round_robin():
    sim = Scheduler({"T1": INC, "T2": INC}, {"counter": 0})
    snap = sim.snapshot()
    assert set(snap) >= {"clock", "threads", "memory", "locks", "last"} and snap["clock"] == 0
    assert snap["threads"][0] == {"name": "T1", "pc": 0, "next": "load r, counter", "state": "ready", "registers": {}}
    lines = []
    while not sim.done:
        lines.append(sim.step())
    assert all(isinstance(s, str) and "\n" not in s for s in lines)
    assert sim.schedule == ["T1", "T2"] * 3 and sim.memory == {"counter": 1}  # round robin loses an update
    assert sim.snapshot()["clock"] == 6
    tl = sim.timeline()
    assert tl.makespan == 6 and len(tl.of_kind("cpu")) == 6
    with pytest.raises(RuntimeError, match="nothing can step"):
        sim.step()


def test_schedule_then_round_robin_and_timeline_shows_blocking():
    sim = Scheduler({"T1": LOCKED_INC, "T2": LOCKED_INC}, {"counter": 0}, schedule=["T1", "T1"]).run()
    assert sim.schedule[:2] == ["T1", "T1"] and sim.finished and sim.memory["counter"] == 2
    assert sim.timeline().of_kind("blocked")


# -- clear errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("programs, memory, words", [
    ({"T1": ["acquire L", "release M"]}, {}, ["release", "'M'", "does not hold"]),
    ({"T1": ["release L"]}, {}, ["line 1", "does not hold"]),
    ({"T1": ["load r, x"]}, {}, ["unknown shared variable 'x'"]),
    ({"T1": ["add r, 1"]}, {"x": 0}, ["register 'r' has no value"]),
    ({"T1": ["store x, q"]}, {"x": 0}, ["register 'q'"]),
    ({"T1": ["add x, 1"]}, {"x": 0}, ["'x' is a shared variable"]),
    ({"T1": ["inc x"]}, {"x": 0}, ["unknown instruction 'inc'"]),
    ({"T1": ["load r"]}, {"x": 0}, ["2 operands"]),
    ({"T1": ["load r, x", "", "# note", "add r, 2", "add s, 1"]}, {"x": 0}, ["line 5", "'s'"]),
    ({"T1": ["acquire x"]}, {"x": 0}, ["both as a lock and as a shared variable"]),
    ({"T1": "load r, x\nstore y, r"}, {"x": 0}, ["unknown shared variable 'y'"]),
    ({}, {}, ["non-empty dict"]),
    ({"T1": ["load r, x"]}, {"x": "zero"}, ["integers"]),
])
def test_bad_programs_get_clear_errors(programs, memory, words):
    with pytest.raises(ProgramError) as error:
        Scheduler(programs, memory)
    for word in words:
        assert word in str(error.value)


def test_bad_schedules_get_clear_errors():
    with pytest.raises(ProgramError, match=r"'T3', which is not a thread; threads are T1, T2"):
        Scheduler({"T1": INC, "T2": INC}, {"counter": 0}, schedule=["T3"]).run()
    with pytest.raises(ProgramError, match=r"schedule\[1\]: T1 is blocked on L \(held by T2\)"):
        Scheduler({"T1": LOCKED_INC, "T2": LOCKED_INC}, {"counter": 0}, schedule=["T2", "T1"]).run()
    with pytest.raises(ProgramError, match="T1 has finished"):
        Scheduler({"T1": ["load r, counter"], "T2": INC}, {"counter": 0}, schedule=["T1", "T1"]).run()
    with pytest.raises(ValueError, match="tries"):
        search({"T1": INC}, {"counter": 0}, tries=0)


def test_run_max_steps_and_the_exhaustive_limit():
    sim = Scheduler({"T1": INC, "T2": INC}, {"counter": 0}).run(max_steps=4)
    assert len(sim.schedule) == 4 and not sim.done
    with pytest.raises(ProgramError, match="limit=5"):
        search({"T1": INC, "T2": INC}, {"counter": 0}, lambda m: True, limit=5)
    assert search({f"T{i}": INC for i in range(4)}, {"counter": 0}, lambda m: m["counter"] == 4, limit=5).schedule


def test_a_thread_that_takes_a_lock_twice_waits_for_itself():
    result = search({"T1": ["acquire A", "acquire A", "release A", "release A"]})
    assert result.problem == "deadlock" and result.schedule == ["T1"]
    sim = Scheduler({"T1": ["acquire A", "acquire A", "release A", "release A"]}).run()
    assert "T1 waits for A (held by T1)" in sim.last


def test_the_stepper_steps_and_replays_the_explorer():
    from course_lib.widgets import Stepper

    stepper = Stepper(lambda: Scheduler({"T1": INC, "T2": INC}, {"counter": 0}, schedule=["T1", "T2"] * 3))
    for _ in range(3):
        stepper.step()
    third = stepper.state
    stepper.step()
    stepper.back()
    assert stepper.state == third and third["clock"] == 3
    assert stepper.run_to_end() >= 1 and stepper.state["memory"] == {"counter": 1}
    assert "T2: store counter, r" in stepper.static_html()
