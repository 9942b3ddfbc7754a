"""Synthetic ENT log generator (see ``generator.generate`` and ``command`` for ``ent-equity synth``)."""
