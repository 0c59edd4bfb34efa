"""MR without a bone mask: bodies read off a sagittal series' signal, on T2-like and T1-like contrast.

The phantom is drawn here (sagittal slices, rows superior to inferior, columns anterior to posterior):
a lordotic chain of six bodies with cortical rims and discs, the canal behind them and arches with
facet joints behind the canal -- the arches alternate along z as strongly as the bodies, which is
what the finder must not take for the column. Contrast flips between the two weightings, so only the
difference between marrow and disc can find the discs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imaging.levels import identify_levels
from imaging.levels.assign import is_sagittal
from imaging.levels.identify import MR_UNNAMED
from imaging.series_facts import Modality, SeriesFacts
from imaging.volume import Volume

_T2 = {"body": 0.40, "disc": 0.85, "cortex": 0.05, "canal": 0.95, "arch": 0.45, "facet": 0.9, "soft": 0.3}
_T1 = {"body": 0.85, "disc": 0.35, "cortex": 0.05, "canal": 0.15, "arch": 0.75, "facet": 0.2, "soft": 0.4}


def _phantom(contrast: dict[str, float], seed: int = 0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """(volume, body labels 1..6 cranial first, the canal and arches) on a sagittal 1 mm grid."""
    nx, nz, ny = 64, 230, 170  # x slices, rows (S->I), columns (A->P)
    x = np.arange(nx)[:, None, None] - nx / 2
    row = np.arange(nz)[None, :, None].astype(float)
    col = np.arange(ny)[None, None, :].astype(float)
    front = 40.0 + 12.0 * np.sin(np.pi * row / nz)  # lordosis: the middle bodies lie furthest forward
    image = np.full((nx, nz, ny), contrast["soft"], dtype=np.float32)
    labels = np.zeros(image.shape, dtype=np.uint8)
    depth, width, height, disc = 34.0, 22.0, 27.0, 9.0
    inside_ap = (col >= front) & (col <= front + depth) & (np.abs(x) <= width)
    image[np.broadcast_to(inside_ap, image.shape)] = contrast["disc"]
    top = 8.0
    for v in range(6):
        r0 = top + v * (height + disc)
        body = inside_ap & (row >= r0) & (row < r0 + height)
        rim = body & ~ndimage.binary_erosion(body, iterations=2)
        image[body] = contrast["body"]
        image[rim] = contrast["cortex"]
        labels[body] = v + 1
        # the arch behind the canal: a block per vertebra with a facet joint between
        arch = (col >= front + depth + 14) & (col <= front + depth + 50) & (np.abs(x) <= 18)
        image[arch & (row >= r0 + 4) & (row < r0 + height + 2)] = contrast["arch"]
        image[arch & (row >= r0 + height + 2) & (row < r0 + height + disc + 4)] = contrast["facet"]
    canal = (col > front + depth) & (col < front + depth + 14) & (np.abs(x) <= 9)
    image[np.broadcast_to(canal, image.shape)] = contrast["canal"]
    behind = np.broadcast_to(col > front + depth + 1, image.shape)
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(image, 0.8) + rng.normal(0.0, 0.03, image.shape).astype(np.float32)
    affine = np.eye(4)
    affine[:3, 0] = (1.0, 0.0, 0.0)  # slices step to the patient's left
    affine[:3, 1] = (0.0, 0.0, -1.0)  # rows step inferior
    affine[:3, 2] = (0.0, 1.0, 0.0)  # columns step posterior
    volume = Volume(np.clip(image, 0, None) * 1000.0, affine, SeriesFacts(modality=Modality.MR))
    return volume, labels, behind


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("contrast", [_T2, _T1], ids=["T2", "T1"])
def test_every_body_is_found_and_separated_whatever_the_contrast(contrast: dict[str, float]) -> None:
    volume, truth, behind = _phantom(contrast)
    assert is_sagittal(volume)
    result = identify_levels(volume)
    inst = result.instances
    used = set()
    for v in range(1, 7):
        t = truth == v
        found, counts = np.unique(inst[t], return_counts=True)
        best = int(found[np.argmax(np.where(found > 0, counts, 0))])
        assert best > 0, f"body {v} not found"
        assert best not in used, f"body {v} merged with its neighbour"
        used.add(best)
        if v not in (1, 6):  # the end bodies have no disc beyond them to stop the growth
            assert _dice(t, inst == best) >= 0.75, f"body {v}: Dice {_dice(t, inst == best):.2f}"
    # no piece of the canal or the arches behind it is taken for a body
    assert (inst[behind] > 0).mean() < 0.002


def test_bodies_found_on_mr_signal_are_never_named() -> None:
    volume, _, _ = _phantom(_T2)
    report = identify_levels(volume).report
    assert not report.established
    assert report.reason == MR_UNNAMED
    assert len(report.vertebrae) >= 6
    assert all(v.name is None for v in report.vertebrae)
    assert not identify_levels(volume).labels.array.any()


def test_an_mr_series_without_a_column_is_refused_with_a_reason() -> None:
    volume, _, _ = _phantom(_T2)
    flat = volume.with_array(np.full(volume.shape, 500.0, dtype=np.float32))
    report = identify_levels(flat).report
    assert not report.established
    assert report.vertebrae == ()
    assert report.reason
