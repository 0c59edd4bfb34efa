"""Procedural anatomical phantom: analytic anatomy T9-S1, CT and Dixon MR rendering, exact truth.

Public API (stable; DICOM packaging and training build on it)::

    params = sample_params(np.random.default_rng(0), "P001")       # or SubjectParams(...)
    phantom = make_phantom(params)
    grid = axial_grid(phantom, pixel_mm=0.8, slice_mm=3.0, levels=("T12", "L5"), matrix=(512, 512))
    hu, labels = render_ct(phantom, grid, contrast="portal", rng=np.random.default_rng(1))
    dixon = render_dixon(phantom, grid, field_strength_t=3.0, rng=np.random.default_rng(2))
    truth = truth_measurements(phantom, labels, grid, hu, dixon)
"""

from phantoms.anatomy import Phantom, Sampled, make_phantom
from phantoms.ct import Contrast, Kernel, render_ct
from phantoms.grid import Grid, axial_grid
from phantoms.labels import FINE_NAMES, FINE_TO_TISSUE, Fine, PhantomLabels
from phantoms.mr import DixonImages, render_dixon
from phantoms.params import SubjectParams, sample_params
from phantoms.truth import truth_measurements

__all__ = [
    "FINE_NAMES",
    "FINE_TO_TISSUE",
    "Contrast",
    "DixonImages",
    "Fine",
    "Grid",
    "Kernel",
    "Phantom",
    "PhantomLabels",
    "Sampled",
    "SubjectParams",
    "axial_grid",
    "make_phantom",
    "render_ct",
    "render_dixon",
    "sample_params",
    "truth_measurements",
]
