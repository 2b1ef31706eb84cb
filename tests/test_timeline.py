import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from course_lib.models import run_event_driven
from course_lib.timeline import Segment, Timeline, plot_models, plot_timeline
from course_lib.tracer import Tracer
from course_lib.workload import Task, cpu, io


def test_timeline_questions():
    tl = Timeline([Segment("B", "io", 1, 3), Segment("A", "cpu", 0, 1), Segment("B", "cpu", 1, 2)], tasks=["A", "B"])
    assert tl.makespan == 3 and tl.tasks == ["A", "B"]
    assert tl.busy("cpu") == 2 and tl.utilisation() == pytest.approx(2 / 3)
    assert tl.finish_times() == {"A": 1, "B": 3}
    assert [s.task for s in tl.segments] == ["A", "B", "B"]
    assert "makespan 3" in repr(tl) and "task" in tl.table()


def test_timeline_rejects_bad_segments():
    with pytest.raises(ValueError, match="ends before"):
        Timeline([Segment("A", "cpu", 2, 1)])
    with pytest.raises(TypeError, match="Segment"):
        Timeline([("A", "cpu", 0, 1)])
    with pytest.raises(TypeError, match="Timeline"):
        plot_timeline([Segment("A", "cpu", 0, 1)])


def test_plots_draw_every_segment():
    tasks = [Task(n, [cpu(1), io(2), cpu(1)]) for n in "ABC"]
    ax = plot_timeline(run_event_driven(tasks))
    bars = [c for c in ax.collections]
    assert len(bars) == len([s for s in run_event_driven(tasks).segments if s.duration > 0])
    fig = plot_models(tasks)
    assert len(fig.axes) == 3 and "makespan 12" in fig.axes[0].get_title(loc="left")
    plt.close("all")


def test_tracer_records_real_threads_on_one_axis():
    tracer = Tracer()

    def worker():
        with tracer.span(kind="io"):
            time.sleep(0.01)

    threads = [threading.Thread(target=worker, name=f"T{i}") for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tl = tracer.timeline("measured")
    assert sorted(tl.tasks) == ["T0", "T1", "T2"]
    assert all(s.kind == "io" and s.duration > 0 and s.start >= 0 for s in tl.segments)
    with pytest.raises(ValueError, match="task"):
        tracer.record("", "cpu", 0, 1)


def test_tracer_names_asyncio_tasks():
    import asyncio

    tracer = Tracer()

    async def job():
        with tracer.span(kind="io"):
            await asyncio.sleep(0.001)

    async def main():
        await asyncio.gather(asyncio.create_task(job(), name="fetch-1"), asyncio.create_task(job(), name="fetch-2"))

    asyncio.run(main())
    assert sorted(tracer.timeline().tasks) == ["fetch-1", "fetch-2"]
