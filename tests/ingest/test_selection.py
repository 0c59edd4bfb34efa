"""Series choice: one CT (or one Dixon set) per study, and a reason for every series not chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from imaging.ingest.discovery import discover
from imaging.ingest.dixon import DixonComponent
from imaging.ingest.selection import AnalysisUnit, KernelClass, choose_series, kernel_class
from imaging.ingest.series_index import build_index

from .dicom_factory import make_dataset, write, write_series

STUDY = "1.2.826.0.1.3680043.8.498.20"


@pytest.mark.parametrize(
    ("kernel", "expected"),
    [
        ("B30f", KernelClass.SOFT),
        ("B31f", KernelClass.SOFT),
        ("Br36", KernelClass.SOFT),
        ("I30f", KernelClass.SOFT),
        ("Br38f\\3", KernelClass.SOFT),
        ("B60f", KernelClass.SHARP),
        ("B70f", KernelClass.SHARP),
        ("Br64", KernelClass.SHARP),
        ("STANDARD", KernelClass.SOFT),
        ("SOFT", KernelClass.SOFT),
        ("BONE", KernelClass.SHARP),
        ("LUNG", KernelClass.SHARP),
        ("BONEPLUS", KernelClass.SHARP),
        ("B", KernelClass.SOFT),
        ("C", KernelClass.SOFT),
        ("YA", KernelClass.SOFT),
        ("L", KernelClass.SHARP),
        ("E", KernelClass.SHARP),
        ("FC03", KernelClass.SOFT),
        ("FC18", KernelClass.SOFT),
        ("FC30", KernelClass.SHARP),
        ("FC52", KernelClass.SHARP),
        ("mystery", KernelClass.UNKNOWN),
        (None, KernelClass.UNKNOWN),
    ],
)
def test_kernel_table(kernel, expected) -> None:
    assert kernel_class(kernel) is expected


def _ct(
    folder: Path, name: str, number: int, *, n: int = 4, thickness: float = 1.0, kernel: str = "B30f", **kw
):
    write_series(
        folder / name,
        n,
        spacing=thickness,
        study_uid=STUDY,
        series_number=number,
        slice_thickness=thickness,
        kernel=kernel,
        series_description=f"{name} {thickness} {kernel}",
        **kw,
    )


def _choose(folder: Path, **kw):
    entries = build_index(discover(folder))
    return entries, choose_series(entries, **kw)


def test_soft_thin_ct_chosen_and_others_get_reasons(tmp_path: Path) -> None:
    _ct(tmp_path, "soft_thin", 2, thickness=1.0, kernel="B30f")
    _ct(tmp_path, "soft_thick", 3, thickness=5.0, kernel="B30f")
    _ct(tmp_path, "sharp_thin", 4, thickness=1.0, kernel="B70f")
    write(make_dataset(study_uid=STUDY, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")), tmp_path / "topo")
    entries, choice = _choose(tmp_path)
    [study] = choice.studies
    assert study.unit is AnalysisUnit.CT
    [chosen] = study.chosen
    assert chosen.series_number == 2 and choice.is_chosen(chosen)
    reasons = {e.entry.description.split()[0]: e.reason for e in study.not_chosen}
    assert "thicker (5 mm) than series 2" in reasons["soft_thick"]
    assert "sharp kernel (B70f)" in reasons["sharp_thin"]
    assert "localizer" in reasons["Abdomen"]  # the factory's default description, used by the topogram
    assert len(study.not_chosen) == len(entries) - 1


def test_prefer_thick(tmp_path: Path) -> None:
    _ct(tmp_path, "thin", 2, thickness=1.0)
    _ct(tmp_path, "thick", 3, thickness=5.0)
    _, choice = _choose(tmp_path, prefer="thick")
    assert choice.chosen[0].series_number == 3
    assert "thinner" in choice.studies[0].not_chosen[0].reason
    with pytest.raises(ValueError, match="prefer"):
        choose_series([], prefer="medium")  # type: ignore[arg-type]


def test_more_coverage_wins_among_equals(tmp_path: Path) -> None:
    _ct(tmp_path, "short", 2, n=3)
    _ct(tmp_path, "long", 3, n=8)
    _, choice = _choose(tmp_path)
    assert choice.chosen[0].series_number == 3
    assert "less coverage" in choice.studies[0].not_chosen[0].reason


def test_non_contrast_preferred_among_equals(tmp_path: Path) -> None:
    _ct(tmp_path, "portal", 2, attrs={"ContrastBolusAgent": "Iohexol"})
    _ct(tmp_path, "plain", 3)
    _, choice = _choose(tmp_path)
    assert choice.chosen[0].series_number == 3
    assert "contrast yes" in choice.studies[0].not_chosen[0].reason


def test_original_primary_beats_soft_kernel_secondary(tmp_path: Path) -> None:
    _ct(tmp_path, "primary", 2, kernel="B70f")
    _ct(tmp_path, "secondary", 3, image_type=("ORIGINAL", "SECONDARY", "AXIAL"))
    _, choice = _choose(tmp_path)
    assert choice.chosen[0].series_number == 2
    assert "not ORIGINAL\\PRIMARY" in choice.studies[0].not_chosen[0].reason


def test_single_axial_slice_is_valid(tmp_path: Path) -> None:
    _ct(tmp_path, "l3", 2, n=1)
    _, choice = _choose(tmp_path)
    assert len(choice.chosen) == 1 and choice.chosen[0].n_frames == 1


def test_unusable_ct_is_not_chosen_with_its_reason(tmp_path: Path) -> None:
    _ct(tmp_path, "broken", 2, pixel_spacing=(0.0, 0.8))
    entries, choice = _choose(tmp_path)
    assert choice.chosen == ()
    assert choice.studies[0].unit is None
    assert "PixelSpacing" in choice.reason_not_chosen(entries[0])


def _dixon(
    folder: Path, number: int, itype: tuple[str, ...], te: float, series_uid: str | None = None
) -> None:
    write_series(
        folder / f"s{number}",
        3,
        modality="MR",
        study_uid=STUDY,
        series_uid=series_uid,
        series_number=number,
        image_type=itype,
        series_description="t1_vibe_dixon",
        attrs={"EchoTime": te, "MagneticFieldStrength": 3.0},
    )


def test_dixon_set_chosen_as_one_unit(tmp_path: Path) -> None:
    _dixon(tmp_path, 5, ("ORIGINAL", "PRIMARY", "M", "OPP_PHASE"), 1.23)
    _dixon(tmp_path, 6, ("ORIGINAL", "PRIMARY", "M", "IN_PHASE"), 2.46)
    _dixon(tmp_path, 7, ("DERIVED", "PRIMARY", "DIXON", "WATER"), 1.23)
    _dixon(tmp_path, 8, ("DERIVED", "PRIMARY", "DIXON", "FAT"), 1.23)
    write_series(
        tmp_path / "t2", 3, modality="MR", study_uid=STUDY, series_number=9, series_description="t2_haste"
    )
    _, choice = _choose(tmp_path)
    [study] = choice.studies
    assert study.unit is AnalysisUnit.MR_DIXON
    assert set(study.dixon_components) == set(DixonComponent)
    assert sorted(e.series_number for e in study.chosen) == [5, 6, 7, 8]
    [other] = study.not_chosen
    assert other.entry.series_number == 9 and "Dixon" in other.reason


def test_partial_dixon_set_states_components(tmp_path: Path) -> None:
    _dixon(tmp_path, 7, ("DERIVED", "PRIMARY", "DIXON", "WATER"), 1.23)
    _dixon(tmp_path, 8, ("DERIVED", "PRIMARY", "DIXON", "FAT"), 1.23)
    _, choice = _choose(tmp_path)
    assert choice.studies[0].dixon_components == (DixonComponent.WATER, DixonComponent.FAT)
    assert "water, fat" in choice.studies[0].summary


def test_ct_preferred_over_dixon_in_same_study(tmp_path: Path) -> None:
    _ct(tmp_path, "ct", 2)
    _dixon(tmp_path, 7, ("DERIVED", "PRIMARY", "DIXON", "WATER"), 1.23)
    _, choice = _choose(tmp_path)
    assert choice.studies[0].unit is AnalysisUnit.CT
    assert "CT series 2" in choice.studies[0].not_chosen[0].reason


def test_one_choice_per_study(tmp_path: Path) -> None:
    write_series(tmp_path / "a", 3, patient_id="A")
    write_series(tmp_path / "b", 3, patient_id="B")
    _, choice = _choose(tmp_path)
    assert len(choice.studies) == 2 and len(choice.chosen) == 2
