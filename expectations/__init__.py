"""The Great Expectations suites of each stage, one module per stage (``raw``, ``marts``, ``publication``).

Each module's ``build(gx, **params)`` returns the validations of its stage's checkpoint;
``credit_platform.quality.checkpoints.run_checkpoint`` imports it as ``expectations.<stage>``.
"""
