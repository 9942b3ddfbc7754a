"""Statistical disclosure control of everything the Observatoire publishes (docs/disclosure_control.md).

- ``cell_suppression``: rules 1-3 inside one family of figures (primary, secondary, complementary).
- ``release``: the whole release cleared together (shared fates across periods ending the same day) and
  audited; the only entry point publishers use.
- ``protection_audit``: the attacker's protection intervals of every hidden sensitive count (HiGHS).

No Dagster here: the publisher, the tests and scripts import it directly.
"""
