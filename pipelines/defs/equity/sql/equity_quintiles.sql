-- Active rate by IPS quintile, for the bar charts: nation with the national quintiles of
-- school_ips_quintiles (weighted by the profile's loaded accounts), académie with quintiles computed within the
-- académie (weighted by the profile's loaded accounts in the period; column academie_ips_quintile of the
-- registered view quintile_rows). Levels: every level together ('all') and each level, with the quintile
-- of the scope (so a level's schools need not fill every quintile). A scope × level with fewer than
-- $min_schools ranked schools, or without loaded accounts, gets no row.
WITH assigned AS (
    SELECT period_type, period, profile, 'nation' AS scope, 'FR' AS scope_code, level,
           national_ips_quintile AS ips_quintile, loaded, active
    FROM quintile_rows WHERE national_ips_quintile IS NOT NULL
    UNION ALL
    SELECT period_type, period, profile, 'academie', academie_code, level,
           academie_ips_quintile, loaded, active
    FROM quintile_rows WHERE academie_ips_quintile IS NOT NULL
),
by_level AS (
    SELECT * FROM assigned
    UNION ALL
    SELECT * REPLACE ('all' AS level) FROM assigned
),
eligible AS (
    SELECT period_type, period, profile, scope, scope_code, level
    FROM by_level GROUP BY ALL
    HAVING count(*) >= $min_schools AND sum(loaded) > 0
)
SELECT
    period_type::VARCHAR AS period_type,
    period::VARCHAR AS period,
    profile::profile_t AS profile,
    scope::VARCHAR AS scope,
    scope_code::VARCHAR AS scope_code,
    level::VARCHAR AS level,
    ips_quintile::INTEGER AS ips_quintile,
    (sum(active) / sum(loaded))::DOUBLE AS rate,
    sum(loaded)::BIGINT AS loaded,
    sum(active)::BIGINT AS active,
    count(*)::INTEGER AS schools
FROM by_level
SEMI JOIN eligible USING (period_type, period, profile, scope, scope_code, level)
GROUP BY ALL
ORDER BY period_type, period, profile, scope, scope_code, level, ips_quintile
