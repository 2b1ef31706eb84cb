"""Execute notebooks in place with nbclient, as a fresh kernel would: ``python tools/run_notebook.py PATH...``

Stops at the first error unless ``--allow-errors``. Prints each notebook's run time.
Progress recording is switched off (EDP_PROGRESS_FILE=""), so running the course's own
notebooks does not tick a student's progress.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ["EDP_PROGRESS_FILE"] = ""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--allow-errors", action="store_true")
    parser.add_argument("--timeout", type=int, default=180)
    args = parser.parse_args()
    for path in map(Path, args.paths):
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            nb, timeout=args.timeout, kernel_name="python3", allow_errors=args.allow_errors,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        ).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
