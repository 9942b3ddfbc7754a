-- Sessions of the weeks [$first_week, $last_week]: a session starts at a LOGIN, or at an event more
-- than 30 minutes after the user's previous event in the same school. A session belongs to the week
-- (Europe/Paris) where it starts; 30 minutes of the previous week are read so that a session running
-- across midnight on Sunday is not cut in two.
WITH window_events AS (
    SELECT uai, user_pseudo, profile, service, channel, event_type, occurred_at, event_id
    FROM events
    WHERE week_start BETWEEN $first_week::DATE - 7 AND $last_week::DATE
      AND occurred_at >= ($first_week::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris') - INTERVAL 30 MINUTE
),
flagged AS (
    SELECT *,
        CASE WHEN upper(event_type) = 'LOGIN'
                  OR lag(occurred_at) OVER w IS NULL
                  OR occurred_at - lag(occurred_at) OVER w >= INTERVAL 30 MINUTE
             THEN 1 ELSE 0 END AS is_start
    FROM window_events
    WINDOW w AS (PARTITION BY uai, user_pseudo ORDER BY occurred_at, event_id)
),
numbered AS (
    SELECT *, sum(is_start) OVER (PARTITION BY uai, user_pseudo ORDER BY occurred_at, event_id
                                  ROWS UNBOUNDED PRECEDING) AS session_no
    FROM flagged
),
sessions AS (
    SELECT
        uai, user_pseudo, any_value(profile) AS profile, session_no,
        min(occurred_at) AS started_at,
        arg_min(channel, occurred_at) AS channel,
        count(*) AS events,
        list_sort(list(DISTINCT service::VARCHAR) FILTER (WHERE service <> 'connexion')) AS services
    FROM numbered
    GROUP BY uai, user_pseudo, session_no
)
SELECT
    uai, user_pseudo, profile,
    date_trunc('week', started_at AT TIME ZONE 'Europe/Paris')::DATE AS week_start,
    started_at, channel, events, coalesce(services, []) AS services,
    hour(started_at AT TIME ZONE 'Europe/Paris') AS hour_paris,
    isodow(started_at AT TIME ZONE 'Europe/Paris') AS weekday_paris
FROM sessions
WHERE started_at >= ($first_week::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris')
