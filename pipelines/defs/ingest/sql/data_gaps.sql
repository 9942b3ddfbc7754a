-- Probable data gaps: school-weeks whose event volume fell more than 80 % below what the school
-- should have had that week. The expected volume is the school's own median week scaled by the
-- académie's volume that week relative to its median, so school holidays and summer, which empty
-- every school of the académie at once, lower the expectation instead of raising flags. Only weeks
-- where at least $min_median events were expected are judged: below that, a quiet week is noise.
WITH weekly AS (
    SELECT uai, week_start, count(*) AS n FROM events GROUP BY ALL
),
span AS (
    SELECT uai, min(week_start) AS first_week, max(week_start) AS last_week FROM weekly GROUP BY uai
),
filled AS (
    SELECT g.uai, g.week_start, coalesce(w.n, 0) AS n, s.academie_code
    FROM (
        SELECT span.uai, weeks.week_start
        FROM span JOIN (SELECT DISTINCT week_start FROM weekly) weeks
            ON weeks.week_start BETWEEN span.first_week AND span.last_week
    ) g
    LEFT JOIN weekly w USING (uai, week_start)
    JOIN schools s USING (uai)
),
academie_weeks AS (
    SELECT academie_code, week_start, sum(n) AS n FROM filled GROUP BY ALL
),
academie_ratio AS (
    SELECT academie_code, week_start, n / median(n) OVER (PARTITION BY academie_code) AS academie_ratio
    FROM academie_weeks
),
school_median AS (
    SELECT uai, median(n) AS median_events FROM filled GROUP BY uai
)
SELECT f.uai, f.week_start, f.n AS events, m.median_events, f.n / m.median_events AS school_ratio, a.academie_ratio
FROM filled f
JOIN school_median m USING (uai)
JOIN academie_ratio a USING (academie_code, week_start)
WHERE f.week_start BETWEEN $first_week AND $last_week
  AND m.median_events * a.academie_ratio >= $min_median
  AND f.n < 0.2 * m.median_events * a.academie_ratio
