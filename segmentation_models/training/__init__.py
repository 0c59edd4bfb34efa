"""Training the segmentation networks: data, augmentation, partial-label losses, loop, evaluation.

Modules, one job each:

* :mod:`.targets` -- what a voxel's training target *is*: a set of allowed compartment classes
  (a bit mask), so fully labelled phantoms, partially labelled TotalSegmentator maps and windowed
  manual tissue labels (.tag) are one kind of target;
* :mod:`.data` -- phantom cases with wide randomisation, real and user cases, cached as ``.npz``;
* :mod:`.transforms` -- MONAI augmentation after the registry spec's own intensity normalisation;
* :mod:`.losses` -- Dice + cross-entropy over allowed-class sets;
* :mod:`.loop` -- the training loop (seeded, AMP on CUDA, checkpoint/resume, validation);
* :mod:`.evaluate` -- per-class Dice of the *final tissue labels* on held-out phantoms and real cases;
* :mod:`.reference_standard` -- what a perfect manual segmentation scores (truth compartments + the
  same HU windows or fat-fraction rule) and why it misses geometric truth (the definitional ceiling);
* :mod:`.evaluation_report` -- the model card's evaluation tables from those figures;
* :mod:`.recipes` -- the registry specs of the default networks (architecture, grid, classes);
* :mod:`.register` -- weights, ``model.json`` and the model card written together;
* :mod:`.finetune` -- one-command fine-tuning on a folder of a department's labelled cases.

Importing this package does nothing (torch and MONAI load inside the functions that need them).
"""
