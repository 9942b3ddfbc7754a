-- Adoption rolled up from schools to département, académie and nation, overall and by level, secteur,
-- éducation prioritaire and rural/urban class: numerators and denominators are summed, never rates
-- averaged. Denominators of event-based rates count only schools whose figure is known.
WITH school_rows AS (
    SELECT a.*, s.departement_code, s.academie_code, s.level, s.secteur, s.education_prioritaire,
           coalesce(s.rural_urban, 'inconnu') AS rural_urban,
           CASE WHEN a.active IS NOT NULL THEN a.loaded ELSE 0 END AS loaded_known_active,
           CASE WHEN a.source = 'events' THEN a.sessions ELSE 0 END AS event_sessions
    FROM adoption_school a JOIN schools s USING (uai)
),
rolled AS (
    SELECT
        period_type, period, profile::VARCHAR AS profile,
        CASE WHEN GROUPING(departement_code) = 0 THEN 'departement'
             WHEN GROUPING(academie_code) = 0 THEN 'academie' ELSE 'nation' END AS geo_level,
        coalesce(departement_code, academie_code, 'FR') AS geo_code,
        CASE WHEN GROUPING(level) = 0 THEN 'level' WHEN GROUPING(secteur) = 0 THEN 'secteur'
             WHEN GROUPING(education_prioritaire) = 0 THEN 'education_prioritaire'
             WHEN GROUPING(rural_urban) = 0 THEN 'rural_urban' ELSE 'all' END AS breakdown,
        coalesce(level, secteur, education_prioritaire, rural_urban, 'all') AS breakdown_value,
        count(*) AS schools,
        count(*) FILTER (WHERE source = 'ode_statistics') AS schools_ode_only,
        sum(loaded) AS loaded,
        sum(activated) AS activated,
        sum(active) AS active,
        sum(loaded_known_active) AS loaded_known_active,
        sum(event_sessions) AS sessions,
        sum(mobile_sessions) AS mobile_sessions,
        sum(services_used) AS services_used,
        sum(active_without_account) AS active_without_account,
        [sum(sessions_by_hour[1]), sum(sessions_by_hour[2]), sum(sessions_by_hour[3]), sum(sessions_by_hour[4]),
         sum(sessions_by_hour[5]), sum(sessions_by_hour[6]), sum(sessions_by_hour[7]), sum(sessions_by_hour[8]),
         sum(sessions_by_hour[9]), sum(sessions_by_hour[10]), sum(sessions_by_hour[11]), sum(sessions_by_hour[12]),
         sum(sessions_by_hour[13]), sum(sessions_by_hour[14]), sum(sessions_by_hour[15]), sum(sessions_by_hour[16]),
         sum(sessions_by_hour[17]), sum(sessions_by_hour[18]), sum(sessions_by_hour[19]), sum(sessions_by_hour[20]),
         sum(sessions_by_hour[21]), sum(sessions_by_hour[22]), sum(sessions_by_hour[23]), sum(sessions_by_hour[24])] AS sessions_by_hour,
        [sum(sessions_by_weekday[1]), sum(sessions_by_weekday[2]), sum(sessions_by_weekday[3]), sum(sessions_by_weekday[4]),
         sum(sessions_by_weekday[5]), sum(sessions_by_weekday[6]), sum(sessions_by_weekday[7])] AS sessions_by_weekday
    FROM school_rows
    -- Every geography (nation, académie, département) crossed with every breakdown: the product of the
    -- two grouping-set lists.
    GROUP BY period_type, period, profile,
        GROUPING SETS ((), (academie_code), (departement_code, academie_code)),
        GROUPING SETS ((), (level), (secteur), (education_prioritaire), (rural_urban))
)
SELECT *,
    activated / nullif(loaded, 0) AS activation_rate,
    active / nullif(loaded_known_active, 0) AS active_rate,
    sessions / nullif(active, 0) AS visits_per_active,
    services_used / nullif(active, 0) AS breadth,
    mobile_sessions / nullif(sessions, 0) AS mobile_share
FROM rolled
