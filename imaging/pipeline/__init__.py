"""``bonemuscle analyze``: the pipeline that joins ingestion, segmentation, measurements, subject data,
classification and outputs. One module per job:

* :mod:`.run` — a path → units (per study: the chosen CT or Dixon set), failures isolated, cohort merged;
* :mod:`.series_job` — one unit → results.json dict and the contract's files;
* :mod:`.segmentation_source` — labels from networks or precomputed files;
* :mod:`.levels_metrics` — per-level measurements (pure);
* :mod:`.mr_metrics` — Dixon fat-fraction map and the ``mr`` block (pure);
* :mod:`.subject` — subject facts from DICOM, clinical CSV and DXA.
"""
