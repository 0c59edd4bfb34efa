"""The segmentation stage: a Volume in, a :class:`~imaging.segmentation.result.Segmentation` out.

What it returns: tissue labels (the contract's names), vertebra labels when a source gives them,
muscle groups and the raw compartments, all on the input series grid and checked against one
another (:mod:`.result`). Where they come from:

- :mod:`.networks` runs registered networks (``segmentation_models``) and assembles their heads;
- :mod:`.label_files` reads a user's labels (NIfTI, DICOM SEG, Slice-O-Matic .tag, TotalSegmentator);
- :mod:`.source` chooses between the two for a run and picks the networks of a series' modality.

Where IMAT is decided: :mod:`.tissue_rules`. Networks predict compartments (muscle, SAT, VAT ...);
on CT the Alberta HU windows (:mod:`.windows`) split each compartment into tissue, so IMAT inside
muscle is measured from attenuation; on MR Dixon the fat fraction does. The label vocabulary and
the named label map type are in :mod:`.labels`.
"""
