"""asyncio's own primitives run on the course loop inside a Jupyter kernel too.

An IPython kernel already runs an asyncio loop in its main thread (that is why
``asyncio.run()`` fails in a notebook). The course loop makes itself the running loop
only inside its own steps and gives the kernel's loop back afterwards; this test runs
real cells in a real kernel to show both hold.
"""

from __future__ import annotations

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    """
import asyncio, sys
from course_lib.loop import Loop
kernel_loop = asyncio.get_running_loop()       # the kernel's own loop is running
""",
    """
async def main():
    loop, log = asyncio.get_running_loop(), []
    queue, event, lock = asyncio.Queue(), asyncio.Event(), asyncio.Lock()
    async def producer():
        for i in range(3):
            await queue.put(i)
            await asyncio.sleep(0.5)
        event.set()
    loop.create_task(producer())
    log.append([await queue.get() for _ in range(3)])
    await event.wait()
    async with lock:
        log.append(await asyncio.gather(asyncio.sleep(1, "a"), asyncio.wait_for(asyncio.sleep(0.5, "b"), 1)))
    try:
        async with asyncio.timeout(0.25):
            await asyncio.sleep(1)
    except TimeoutError:
        log.append("timeout")
    if sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as group:
            group.create_task(asyncio.sleep(0.25))
    log.append((asyncio.current_task().get_name(), loop.time()))
    return log

course = Loop()
result = course.run_until_complete(main())
print(result)
assert result == [[0, 1, 2], ["a", "b"], "timeout", ("Task-1", 3.0)], result
assert asyncio.get_running_loop() is kernel_loop   # the kernel's loop is back
""",
    """
course = Loop()
task = course.create_task(asyncio.sleep(2, "stepped"))
while not task.done():
    course.step()                                  # step by step, as the Stepper does
assert task.result() == "stepped" and course.time() == 2.0
await asyncio.sleep(0)                             # top-level await still uses the kernel's loop
assert asyncio.get_running_loop() is kernel_loop
print("ok")
""",
]


def test_asyncio_primitives_on_the_course_loop_inside_a_kernel(monkeypatch):
    monkeypatch.setenv("EDP_PROGRESS_FILE", "")
    nb = new_notebook(cells=[new_code_cell(src.strip()) for src in CELLS])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = ["".join(o.get("text", "") for o in cell.outputs) for cell in nb.cells]
    assert "timeout" in outputs[1] and outputs[2].strip() == "ok", outputs
