"""Small CNNs and MLPs learning handwritten digits live, measured layer by layer.

Pure compute, no FastAPI: ``data`` (the digits and a seeded batch sampler), ``models`` (the network a page
can configure), ``probes`` (per-step and on-demand measurements), ``reports`` (what they return) and
``trainer`` (one optimizer step at a time, settings changeable between steps). A live session drives a
``Trainer``: build it, call ``step()`` repeatedly, change settings between steps, read the reports.
"""
