"""Small CNNs and MLPs learning handwritten digits live, measured layer by layer.

Pure compute, no FastAPI: ``data`` (the digits, a seeded batch sampler), ``models`` (the network a page can
configure), ``schedules`` (learning-rate schedules), ``probes`` (per-step measurements), ``measurements``
(on-demand ones), ``reports`` (what both return), ``trainer`` (one optimizer step at a time, settings
changeable between steps) and ``landscape`` (the loss around the weights, with the training path). A live
session drives a ``Trainer``: build it, call ``step()`` repeatedly, change settings between steps, read the
reports.
"""
