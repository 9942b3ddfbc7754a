-- One row per school × period × profile with a measured active rate, for the period types in
-- $period_types, with the school attributes the equity measures group, compare and rank by.
-- Left out: rows without an active count (schools known only through an ODE statistics export over a
-- period its granularity cannot speak for) and rows without loaded accounts (no weight, no rate).
SELECT
    a.period_type,
    a.period,
    p.period_start,
    a.profile::VARCHAR AS profile,
    a.uai,
    s.academie_code,
    s.departement_code,
    s.level,
    s.secteur,
    s.education_prioritaire,
    s.rural_urban,
    s.ips,
    q.ips_quintile AS national_ips_quintile,
    a.loaded,
    a.active,
    a.active / a.loaded AS active_rate
FROM adoption_school a
JOIN periods p USING (period_type, period)
JOIN schools s USING (uai)
LEFT JOIN school_ips_quintiles q ON q.uai = a.uai AND q.profile = a.profile::VARCHAR
WHERE list_contains($period_types, a.period_type)
  AND a.active IS NOT NULL
  AND a.loaded > 0
ORDER BY p.period_start, a.period_type, a.period, a.profile, a.uai
