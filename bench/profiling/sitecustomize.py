"""Profile every flow-run process a benchmark worker starts (pyinstrument), when CIG_BENCH_PROFILE_DIR is set.

The benchmark starts one worker with this directory on PYTHONPATH; the flow-run processes it starts
inherit it, and each writes its pyinstrument session on exit for `bench` to combine.
"""

import os
import sys

_directory = os.environ.get("CIG_BENCH_PROFILE_DIR")
if _directory and "prefect.engine" in sys.orig_argv:
    import atexit

    from pyinstrument import Profiler

    _profiler = Profiler(interval=0.001, async_mode="disabled")
    _profiler.start()

    def _save() -> None:
        session = _profiler.stop()
        session.save(os.path.join(_directory, f"{os.getpid()}.pyisession"))

    atexit.register(_save)
