-- Per school × ISO week of the school year $school_year: parent accounts (loaded accounts of the school's
-- snapshot, as in adoption_school) active at least once from the first day of the school year to the end
-- of the week (Europe/Paris), over the school year's loaded parent accounts; `valid` is false on a
-- probable data-gap week of the school. At the last week, active_to_date / loaded is the school-year rate.
WITH year AS (
    SELECT period_start, period_end FROM periods WHERE period_type = 'school_year' AND period = $school_year
),
weeks AS (
    SELECT p.period_start AS week_start, least(p.period_end, y.period_end) AS week_end
    FROM periods p, year y
    WHERE p.period_type = 'week' AND p.period_start BETWEEN y.period_start AND y.period_end
),
first_day AS (
    SELECT s.uai, s.user_pseudo, min((s.started_at AT TIME ZONE 'Europe/Paris')::DATE) AS day
    FROM sessions s
    SEMI JOIN accounts a ON a.user_pseudo = s.user_pseudo AND a.uai = s.uai AND a.profile = s.profile
    WHERE s.profile = 'parent'
      AND s.started_at >= ((SELECT period_start FROM year)::TIMESTAMP AT TIME ZONE 'Europe/Paris')
      AND s.started_at < (((SELECT period_end FROM year) + 1)::TIMESTAMP AT TIME ZONE 'Europe/Paris')
    GROUP BY ALL
),
loaded AS (
    SELECT uai, loaded FROM adoption_school
    WHERE period_type = 'school_year' AND period = $school_year AND profile = 'parent' AND source = 'events'
      AND loaded > 0
),
new_by_week AS (
    -- a first day before the first Monday of the year counts in the first week
    SELECT uai, greatest(date_trunc('week', day)::DATE, (SELECT min(week_start) FROM weeks)) AS week_start,
           count(*) AS newly_active
    FROM first_day GROUP BY ALL
)
SELECT $school_year AS school_year, l.uai, w.week_start,
       sum(coalesce(n.newly_active, 0)) OVER (PARTITION BY l.uai ORDER BY w.week_start)::BIGINT AS active_to_date,
       l.loaded,
       g.uai IS NULL AS valid
FROM loaded l CROSS JOIN weeks w
LEFT JOIN new_by_week n ON n.uai = l.uai AND n.week_start = w.week_start
LEFT JOIN data_gaps g ON g.uai = l.uai AND g.week_start = w.week_start
ORDER BY l.uai, w.week_start
