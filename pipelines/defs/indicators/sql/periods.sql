-- Reporting periods: ISO weeks (Monday start), calendar months, school trimesters and school years,
-- from the first weekly partition to the data horizon: the day of the latest event in the lake (the
-- manifest's last_event_at of the files lake_files lists; today when there is none), Europe/Paris. Trimesters follow the school calendar:
-- T1 September–December, T2 January–March, T3 April–August (summer included).
CREATE OR REPLACE TABLE periods AS
WITH days AS (
    SELECT d::DATE AS day
    FROM range($first_day::DATE,
               (SELECT coalesce(max(last_event_at AT TIME ZONE 'Europe/Paris')::DATE,
                                (now() AT TIME ZONE 'Europe/Paris')::DATE)
                FROM landing_manifest WHERE status = 'ingested' AND sha256 IN (SELECT sha256 FROM lake_files)) + 1,
               INTERVAL 1 DAY) t(d)
),
labelled AS (
    SELECT
        day,
        date_trunc('week', day)::DATE AS week_start,
        date_trunc('month', day)::DATE AS month_start,
        CASE WHEN month(day) >= 9 THEN year(day) ELSE year(day) - 1 END AS school_year_start
    FROM days
),
with_trimester AS (
    SELECT *,
        CASE WHEN month(day) >= 9 THEN 1 WHEN month(day) <= 3 THEN 2 ELSE 3 END AS trimester
    FROM labelled
)
SELECT 'week' AS period_type, strftime(week_start, '%G-W%V') AS period, week_start AS period_start,
       (week_start + 6) AS period_end, school_year_start || '-' || (school_year_start + 1) AS school_year
FROM with_trimester GROUP BY ALL
UNION ALL
SELECT 'month', strftime(month_start, '%Y-%m'), month_start, (month_start + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE,
       school_year_start || '-' || (school_year_start + 1)
FROM with_trimester GROUP BY ALL
UNION ALL
SELECT 'trimester', school_year_start || '-' || (school_year_start + 1) || ' T' || trimester,
       CASE trimester WHEN 1 THEN make_date(school_year_start, 9, 1) WHEN 2 THEN make_date(school_year_start + 1, 1, 1)
                      ELSE make_date(school_year_start + 1, 4, 1) END,
       CASE trimester WHEN 1 THEN make_date(school_year_start, 12, 31) WHEN 2 THEN make_date(school_year_start + 1, 3, 31)
                      ELSE make_date(school_year_start + 1, 8, 31) END,
       school_year_start || '-' || (school_year_start + 1)
FROM with_trimester GROUP BY ALL
UNION ALL
SELECT 'school_year', school_year_start || '-' || (school_year_start + 1), make_date(school_year_start, 9, 1),
       make_date(school_year_start + 1, 8, 31), school_year_start || '-' || (school_year_start + 1)
FROM with_trimester GROUP BY ALL
ORDER BY period_type, period_start;
