"""What narrows the gap: pure functions (pandas/numpy in, numbers out; statsmodels for every fit) that the
``pipelines/defs/levers/`` assets call and analysts' notebooks can call directly.

- ``design``: the school covariates every model uses (IPS, equipment, training, secteur, EP, rurality,
  level, holiday calendar) as one numeric matrix, and their factor groups.
- ``naive_comparison``: schools with a workshop vs without (confounded: shown to be biased).
- ``workshop_did``: staggered difference-in-differences / event study of the workshops (group-time effects
  against not-yet-treated and never-treated schools, outcome regression, influence-function intervals).
- ``context_model``: quasi-binomial GLM of school active rates on context with académie fixed effects.
- ``gap_decomposition``: Oaxaca-Blinder split (Yun weights) of académie and IPS Q5 - Q1 gaps, bootstrap.
- ``workshop_targets``: schools ranked by expected extra active parents from one workshop; budget scenario.
"""
