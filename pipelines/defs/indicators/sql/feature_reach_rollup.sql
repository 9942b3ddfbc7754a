-- Feature reach rolled up like adoption (users and active accounts summed over schools), with the
-- IPS quintile of the school as a further breakdown (quintiles weighted by the profile's loaded accounts,
-- from school_ips_quintiles).
WITH school_rows AS (
    SELECT f.*, s.departement_code, s.academie_code, s.level, s.secteur, s.education_prioritaire,
           coalesce(s.rural_urban, 'inconnu') AS rural_urban, coalesce(q.ips_quintile::VARCHAR, 'inconnu') AS ips_quintile
    FROM feature_reach_school f JOIN schools s USING (uai)
    LEFT JOIN school_ips_quintiles q ON q.uai = f.uai AND q.profile = f.profile::VARCHAR
)
SELECT
    period_type, period, profile::VARCHAR AS profile, service,
    CASE WHEN GROUPING(departement_code) = 0 THEN 'departement'
         WHEN GROUPING(academie_code) = 0 THEN 'academie' ELSE 'nation' END AS geo_level,
    coalesce(departement_code, academie_code, 'FR') AS geo_code,
    CASE WHEN GROUPING(level) = 0 THEN 'level' WHEN GROUPING(secteur) = 0 THEN 'secteur'
         WHEN GROUPING(education_prioritaire) = 0 THEN 'education_prioritaire'
         WHEN GROUPING(rural_urban) = 0 THEN 'rural_urban'
         WHEN GROUPING(ips_quintile) = 0 THEN 'ips_quintile' ELSE 'all' END AS breakdown,
    coalesce(level, secteur, education_prioritaire, rural_urban, ips_quintile, 'all') AS breakdown_value,
    count(*) AS schools, sum(users) AS users, sum(active) AS active, sum(users) / sum(active) AS reach
FROM school_rows
-- Every geography (nation, académie, département) crossed with every breakdown: the product of the
-- two grouping-set lists.
GROUP BY period_type, period, profile, service,
    GROUPING SETS ((), (academie_code), (departement_code, academie_code)),
    GROUPING SETS ((), (level), (secteur), (education_prioritaire), (rural_urban), (ips_quintile))
