"""``bonemuscle batch``: the resumable, pipelined batch runner for archives.

Modules, one job each:

* :mod:`.jobs_db` — SQLite job table (status, attempts, reasons, timings, versions), resumable after kill -9;
* :mod:`.stages` — decode + preprocess, and segmentation rules + measure + write, as worker functions;
* :mod:`.inference_loop` — the model loaded once, batches of slices cut across studies;
* :mod:`.runner` — planning and the pipeline that joins them (:func:`run_batch`);
* :mod:`.progress` — progress line with ETA, and the end-of-run summary.
"""

from imaging.batch.jobs_db import JobsDb, Status
from imaging.batch.runner import BatchOptions, BatchReport, run_batch

__all__ = ["BatchOptions", "BatchReport", "JobsDb", "Status", "run_batch"]
