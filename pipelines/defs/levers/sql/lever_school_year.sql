-- The school year the levers are evaluated on: the latest one holding parent sessions.
SELECT p.period, p.period_start, p.period_end
FROM adoption_school a JOIN periods p USING (period_type, period)
WHERE a.period_type = 'school_year' AND a.profile = 'parent' AND a.source = 'events'
GROUP BY ALL
HAVING sum(a.active) > 0
ORDER BY p.period_start DESC
LIMIT 1
