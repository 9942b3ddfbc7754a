-- National IPS quintile of each school for each profile, weighted by the profile's own loaded accounts
-- ("family-weighted" for parents, "pupil-weighted" for élèves, ...): each quintile holds about 20 % of the
-- profile's accounts. The ridit is the mid-point of the school's cumulative weight share (schools with the
-- same IPS share it); the quintile is ceil(5 × ridit), a mid-point exactly on a boundary going to the lower
-- quintile: the rule of pipelines.equity.weighted_quintile (the quintile gap of pipelines/equity/quintile_gap.py).
CREATE OR REPLACE TABLE school_ips_quintiles AS
WITH weights AS (
    SELECT s.uai, a.profile::VARCHAR AS profile, s.ips, count(*) AS accounts
    FROM schools s JOIN accounts a USING (uai)
    WHERE s.ips IS NOT NULL
    GROUP BY ALL
),
cumulative AS (
    SELECT *,
        sum(accounts) OVER (PARTITION BY profile ORDER BY ips RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS through_tie,
        sum(accounts) OVER (PARTITION BY profile, ips) AS tie_weight,
        sum(accounts) OVER (PARTITION BY profile) AS total
    FROM weights
)
SELECT uai, profile, ips, accounts,
       (through_tie - tie_weight / 2.0) / total AS ips_ridit,
       greatest(1, least(5, ceil(5 * (through_tie - tie_weight / 2.0) / total - 1e-12)))::INTEGER AS ips_quintile
FROM cumulative;
