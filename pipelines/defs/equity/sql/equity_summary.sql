-- equity_summary from the rows computed in Python (registered as the view summary_rows): one row per
-- period × profile × scope × level × measure. Rebuilt whole (replace_rows).
SELECT
    period_type::VARCHAR AS period_type,
    period::VARCHAR AS period,
    profile::profile_t AS profile,
    scope::VARCHAR AS scope,                     -- 'nation' | 'academie'
    scope_code::VARCHAR AS scope_code,           -- 'FR' | académie code
    level::VARCHAR AS level,                     -- 'all' | 'ecole' | 'college' | 'lycee'
    measure::VARCHAR AS measure,
    value::DOUBLE AS value,
    ci_low::DOUBLE AS ci_low,                    -- 95 % Wald interval where the measure has one, else NULL
    ci_high::DOUBLE AS ci_high,
    n_schools::INTEGER AS n_schools,             -- schools that entered the measure
    weight_total::BIGINT AS weight_total,        -- their loaded accounts of the profile
    n_schools_without_ips::INTEGER AS n_schools_without_ips  -- schools of the group left out for want of an IPS
FROM summary_rows
ORDER BY period_type, period, profile, scope, scope_code, level, measure
