"""Synthetic ENT log generator (see ``generator.generate`` and ``command`` for ``ent-equity synth``)."""

from pipelines.synth.generator import generate

__all__ = ["generate"]
