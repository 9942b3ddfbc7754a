-- Sessions of the weeks [$first_week, $last_week], from visits only (LOGIN, ACCESS, CONNECTOR: see
-- VISIT_EVENT_TYPES): a session starts at a LOGIN, at a visit more than 30 minutes after the account's
-- previous visit, or when the account moves to another school. A
-- session belongs to the week (Europe/Paris) where it starts; 30 minutes of the previous week are read
-- so that a session running across midnight on Sunday is not cut in two. The services a session used
-- (connexion aside) are kept as a bit mask over service_t (bit i = enum_code i).
WITH window_events AS (
    SELECT uai, user_pseudo, profile, service, channel, event_type, occurred_at
    FROM events
    WHERE week_start BETWEEN $first_week::DATE - 7 AND $last_week::DATE
      AND event_type IN ({visit_event_types})
      AND occurred_at >= ($first_week::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris') - INTERVAL 30 MINUTE
),
flagged AS (
    SELECT *,
        CASE WHEN upper(event_type) = 'LOGIN'
                  OR lag(occurred_at) OVER w IS NULL
                  OR occurred_at - lag(occurred_at) OVER w >= INTERVAL 30 MINUTE
                  OR uai <> lag(uai) OVER w
             THEN 1 ELSE 0 END AS is_start
    FROM window_events
    WINDOW w AS (PARTITION BY user_pseudo ORDER BY occurred_at)
),
numbered AS (
    SELECT *, sum(is_start) OVER (PARTITION BY user_pseudo ORDER BY occurred_at ROWS UNBOUNDED PRECEDING) AS session_no
    FROM flagged
),
grouped AS (
    SELECT
        user_pseudo, session_no,
        arg_min(uai, occurred_at) AS uai,
        arg_min(profile, occurred_at) AS profile,
        min(occurred_at) AS started_at,
        arg_min(channel, occurred_at) AS channel,
        count(*) AS events,
        coalesce(bit_or(1::INTEGER << enum_code(service)::INTEGER) FILTER (WHERE service <> 'connexion'), 0)::INTEGER AS services_mask
    FROM numbered
    GROUP BY user_pseudo, session_no
)
SELECT
    uai, user_pseudo, profile,
    date_trunc('week', started_at AT TIME ZONE 'Europe/Paris')::DATE AS week_start,
    started_at, channel, events, services_mask,
    hour(started_at AT TIME ZONE 'Europe/Paris') AS hour_paris,
    isodow(started_at AT TIME ZONE 'Europe/Paris') AS weekday_paris
FROM grouped
WHERE started_at >= ($first_week::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris')
