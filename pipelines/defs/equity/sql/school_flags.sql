-- school_flags from the rows computed in Python (registered as the view flag_rows): one row per
-- school × period × profile (school years and trimesters). Rebuilt whole (replace_rows).
SELECT
    period_type::VARCHAR AS period_type,
    period::VARCHAR AS period,
    profile::profile_t AS profile,
    uai::VARCHAR AS uai,
    academie_code::VARCHAR AS academie_code,
    level::VARCHAR AS level,
    loaded::BIGINT AS loaded,
    active::BIGINT AS active,
    observed_rate::DOUBLE AS observed_rate,          -- active / loaded
    -- beta-binomial regression empirical Bayes, prior mean on IPS, level, académie (posterior mean and
    -- 95 % equal-tailed interval with the prior's uncertainty added)
    shrunk_rate::DOUBLE AS shrunk_rate,
    shrunk_low::DOUBLE AS shrunk_low,
    shrunk_high::DOUBLE AS shrunk_high,
    eb_shrinkage::DOUBLE AS eb_shrinkage,            -- weight of the prior: M / (n + M)
    eb_scope::VARCHAR AS eb_scope,                   -- 'academie': own coefficient in the prior mean | 'nation'
    eb_schools::INTEGER AS eb_schools,               -- schools of the prior's fit (the period × profile)
    -- binomial GLM on IPS, secteur, level, rural/urban, fitted nationally per period × profile
    expected_rate::DOUBLE AS expected_rate,          -- NULL without IPS or rural/urban class
    observed_minus_expected::DOUBLE AS observed_minus_expected,
    -- funnel plot around the pooled rate of the reference group, limits with additive over-dispersion
    funnel_scope::VARCHAR AS funnel_scope,           -- reference group: 'academie' (académie × level) | 'nation' (level)
    funnel_target::DOUBLE AS funnel_target,
    funnel_z::DOUBLE AS funnel_z,                    -- over-dispersion-adjusted z (arcsine scale)
    funnel_p::DOUBLE AS funnel_p,                    -- two-sided p-value of funnel_z
    funnel_q::DOUBLE AS funnel_q,                    -- Benjamini-Hochberg q over every test of the table
    funnel_flag::VARCHAR AS funnel_flag,             -- 'haut' | 'bas' where funnel_q <= 5 % | NULL
    funnel_low95::DOUBLE AS funnel_low95,
    funnel_high95::DOUBLE AS funnel_high95,
    funnel_low998::DOUBLE AS funnel_low998,
    funnel_high998::DOUBLE AS funnel_high998
FROM flag_rows
ORDER BY period_type, period, profile, uai
