"""The scaling lab returns positive costs and refuses bad arguments with clear messages (no timing asserts)."""

import os
import select

import pytest

from course_lib import scaling
from course_lib.scaling import FD_SETSIZE, IdleSockets, available_backends, sweep, wait_cost


def _open_fds():
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        pytest.skip("no /proc/self/fd here")


@pytest.mark.parametrize("backend", available_backends())
def test_wait_cost_is_a_positive_float(backend):
    cost = wait_cost(backend, 20, repeat=3)
    assert isinstance(cost, float) and cost > 0


def test_no_sockets_leak():
    before = _open_fds()
    for backend in available_backends():
        wait_cost(backend, 50, repeat=2)
    assert _open_fds() == before


def test_sweep_skips_select_beyond_fd_setsize_and_reports_progress():
    seen = []
    result = sweep(idles=[5, FD_SETSIZE + 10], repeat=2, progress=lambda done, total, text: seen.append((done, total)))
    assert seen[-1] == (len(available_backends()) * 2,) * 2
    if "select" in result:
        assert list(result["select"]) == [5]
    for backend, costs in result.items():
        if backend != "select":
            assert set(costs) == {5, FD_SETSIZE + 10} and all(c > 0 for c in costs.values())


def test_select_refused_above_fd_setsize():
    with pytest.raises(ValueError, match="FD_SETSIZE"):
        wait_cost("select", FD_SETSIZE + 1)


@pytest.mark.parametrize("backend", ["selectt", 3, None])
def test_unknown_backend(backend):
    with pytest.raises(ValueError, match="backend must be one of"):
        wait_cost(backend, 10)


def test_missing_backend_names_the_available_ones(monkeypatch):
    missing = next((b for b in scaling.BACKENDS if not hasattr(select, b)), None)
    if missing is None:  # everything exists: pretend epoll does not
        monkeypatch.delattr(select, "epoll")
        missing = "epoll"
    with pytest.raises(ValueError, match="available: .*select"):
        wait_cost(missing, 10)


@pytest.mark.parametrize("idle", [-1, 1.5, "10", True])
def test_bad_idle(idle):
    with pytest.raises(ValueError, match="idle must be"):
        wait_cost("poll" if hasattr(select, "poll") else "select", idle)


@pytest.mark.parametrize("repeat", [0, -3, 2.0])
def test_bad_repeat(repeat):
    with pytest.raises(ValueError, match="repeat must be"):
        wait_cost("select", 10, repeat=repeat)


def test_pool_is_reused_and_closed():
    with IdleSockets(30) as pool:
        assert len(pool.fds(30)) == 31 and len(set(pool.fds(30))) == 31
        for backend in available_backends():
            assert wait_cost(backend, 30, repeat=2, pool=pool) > 0
        with pytest.raises(ValueError, match="idle must be <= 30"):
            pool.fds(31)
    assert pool.pairs == [] and pool.ready_pair is None


def test_fd_limit_is_raised_for_the_measurement_and_restored():
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = _open_fds() + 100
    if hard != resource.RLIM_INFINITY and hard < low + 1200:
        pytest.skip("the hard limit is too low to test raising")
    backend = "poll" if hasattr(select, "poll") else available_backends()[-1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        assert wait_cost(backend, 1000, repeat=1) > 0  # needs ~1000 descriptors: more than `low` allows
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == low
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_hard_limit_too_low_is_a_clear_error():
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 200_000:
        pytest.skip("the hard limit is too high to exceed cheaply")
    with pytest.raises(ValueError, match="hard limit"):
        wait_cost("poll" if hasattr(select, "poll") else "select", hard + 10)
