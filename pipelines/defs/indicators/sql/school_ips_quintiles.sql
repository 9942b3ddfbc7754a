-- National IPS quintile of each school, weighted by loaded parent accounts ("family-weighted"): each
-- quintile holds about 20 % of parent accounts. The ridit is the mid-point of the school's cumulative
-- weight share (schools with the same IPS share it).
CREATE OR REPLACE TABLE school_ips_quintiles AS
WITH weights AS (
    SELECT s.uai, s.ips, count(*) AS parent_accounts
    FROM schools s JOIN accounts a USING (uai)
    WHERE s.ips IS NOT NULL AND a.profile = 'parent'
    GROUP BY ALL
),
cumulative AS (
    SELECT *,
        sum(parent_accounts) OVER (ORDER BY ips RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS through_tie,
        sum(parent_accounts) OVER (PARTITION BY ips) AS tie_weight,
        sum(parent_accounts) OVER () AS total
    FROM weights
)
SELECT uai, ips, parent_accounts,
       (through_tie - tie_weight / 2.0) / total AS ips_ridit,
       least(5, 1 + floor(5 * (through_tie - tie_weight / 2.0) / total))::INTEGER AS ips_quintile
FROM cumulative;
