"""Shared test setup: no test writes into the home folder or ticks a student's progress."""

import os

import matplotlib

matplotlib.use("Agg")
os.environ["EDP_PROGRESS_FILE"] = ""  # kernels started by nbval inherit this
os.environ.setdefault("MPLBACKEND", "Agg")
