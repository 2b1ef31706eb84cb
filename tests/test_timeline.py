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


def _every_kind():
    """Two tasks with a segment of every kind the style table names, and one it does not."""
    return Timeline([Segment("A", "cpu", 0, 1), Segment("B", "ready", 0, 1), Segment("B", "switch", 1, 1.2),
                     Segment("B", "cpu", 1.2, 2), Segment("A", "io", 1, 3), Segment("B", "EAGAIN", 2, 2.5)])


def _svg_rects(svg_html):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg_html)
    return [rect.attrib for rect in root.iter("{http://www.w3.org/2000/svg}rect")]


def test_matplotlib_and_svg_draw_each_kind_from_the_one_style_table():
    from matplotlib.colors import to_hex, to_rgba

    from course_lib.timeline import IO_GREY, PALETTE, STYLE, look_of, render_timeline_svg

    tl = _every_kind()
    ax = plot_timeline(tl)
    bars = ax.collections                       # one per segment of non-zero length, in timeline order
    rects = _svg_rects(render_timeline_svg(tl))
    assert len(bars) == len(rects) == len(tl.segments)
    task_colour = {"A": PALETTE[0], "B": PALETTE[1]}
    for s, bar, rect in zip(tl.segments, bars, rects):
        look, colour = look_of(s.kind), task_colour[s.task]
        fill = colour if look.fill == "task" else look.fill
        face = bar.get_facecolor()[0]
        assert to_hex(face) == to_hex(fill) == to_hex(rect["fill"]), s          # the same colour, both pictures
        assert face[3] == pytest.approx(look.opacity or 1.0) == float(rect.get("fill-opacity", 1)), s
        edge = bar.get_edgecolor()
        if look.edge is None:                                                   # no outline in either
            assert "stroke" not in rect and (len(edge) == 0 or edge[0][3] == 0), s
        else:
            want = colour if look.edge == "task" else look.edge
            assert to_hex(edge[0]) == to_hex(want) == to_hex(rect["stroke"]), s
        assert bool(bar.get_hatch()) == look.hatched == ("stroke-dasharray" in rect), s
    assert to_rgba(STYLE["io"].fill) == to_rgba(IO_GREY)
    plt.close("all")


def test_both_legends_use_the_table_labels():
    from course_lib.timeline import STYLE, render_timeline_svg

    tl = _every_kind()
    ax = plot_timeline(tl)
    shown = [t.get_text() for t in ax.get_legend().get_texts()]
    assert shown == ["A runs", "B runs", STYLE["io"].label, STYLE["ready"].label, STYLE["switch"].label]
    key = render_timeline_svg(tl)
    for kind in ("cpu", "io", "ready", "switch"):
        assert f"{STYLE[kind].words}: {STYLE[kind].label}" in key
    plt.close("all")


def test_the_svg_names_a_kind_the_style_table_does_not():
    """A light bar of another kind (05's "stalled", "+300 B") says what it is, on the bar and in the key,
    as plot_timeline writes it on the bar; a clock that is not in seconds gets no "s" in the tooltips."""
    import xml.etree.ElementTree as ET

    from course_lib.timeline import render_timeline_svg

    tl = Timeline([Segment("program", "cpu", 0, 1), Segment("program", "stalled", 1, 16)])
    html = render_timeline_svg(tl, clock=16)
    svg = ET.fromstring(html.split("<div style='font-family", 1)[0].removeprefix("<div style='line-height:1.2'>"))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    titles = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "stalled" in texts
    assert "light: named on the bar" in html
    assert titles == ["program cpu 0-1", "program stalled 1-16"]
    assert "light:" not in render_timeline_svg(Timeline([Segment("A", "cpu", 0, 1)]))
    assert "A cpu 0-1 s" in render_timeline_svg(Timeline([Segment("A", "cpu", 0, 1)]), clock=0.5)


def test_drawing_arguments_are_checked():
    from course_lib.timeline import render_timeline_svg

    with pytest.raises(ValueError, match="xmax"):
        plot_timeline(_every_kind(), xmax=-1)
    with pytest.raises(TypeError, match="quantum"):
        plot_models([Task("A", [cpu(1)])], quantum="fast")
    with pytest.raises(TypeError, match="Timeline"):
        render_timeline_svg([Segment("A", "cpu", 0, 1)])
    plt.close("all")


def test_the_data_module_is_the_drawing_modules_timeline():
    import course_lib.segments as data
    import course_lib.timeline as drawing

    assert drawing.Segment is data.Segment and drawing.Timeline is data.Timeline
