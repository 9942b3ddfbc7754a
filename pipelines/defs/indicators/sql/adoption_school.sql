-- Adoption per school × period × profile (all period types), rebuilt for the periods that start on
-- or after $from_day (older periods keep their figures after raw events are purged).
-- Event-based figures count only loaded accounts (an account of the school's snapshot); sessions of
-- users missing from every snapshot are counted apart, as a data-quality figure.
WITH
recent_periods AS (SELECT * FROM periods WHERE period_start >= $from_day),
session_days AS (
    SELECT s.*, (s.started_at AT TIME ZONE 'Europe/Paris')::DATE AS day FROM sessions s
    WHERE s.started_at >= ($from_day::DATE::TIMESTAMP AT TIME ZONE 'Europe/Paris')
),
session_periods AS (
    SELECT p.period_type, p.period, s.*
    FROM session_days s JOIN recent_periods p ON s.day BETWEEN p.period_start AND p.period_end
),
user_periods AS (
    SELECT period_type, period, uai, user_pseudo, profile,
           count(*) AS sessions,
           count(*) FILTER (WHERE channel = 'mobile_app') AS mobile_sessions,
           bit_count(bit_or(services_mask)) AS distinct_services
    FROM session_periods GROUP BY ALL
),
activity AS (
    SELECT u.period_type, u.period, u.uai, u.profile,
           count(*) FILTER (WHERE a.user_pseudo IS NOT NULL) AS active,
           sum(u.sessions) FILTER (WHERE a.user_pseudo IS NOT NULL) AS sessions,
           sum(u.mobile_sessions) FILTER (WHERE a.user_pseudo IS NOT NULL) AS mobile_sessions,
           sum(u.distinct_services) FILTER (WHERE a.user_pseudo IS NOT NULL) AS services_used,
           count(*) FILTER (WHERE a.user_pseudo IS NULL) AS active_without_account
    FROM user_periods u
    LEFT JOIN accounts a ON a.user_pseudo = u.user_pseudo AND a.uai = u.uai AND a.profile = u.profile
    GROUP BY ALL
),
timing AS (
    SELECT period_type, period, uai, profile,
           [{hour_counts}] AS sessions_by_hour,
           [{weekday_counts}] AS sessions_by_weekday
    FROM (
        SELECT sp.period_type, sp.period, sp.uai, sp.profile, sp.hour_paris, sp.weekday_paris
        FROM session_periods sp
        SEMI JOIN accounts a ON a.user_pseudo = sp.user_pseudo AND a.uai = sp.uai AND a.profile = sp.profile
    )
    GROUP BY ALL
),
-- An account whose snapshot has no activation date is activated on the day of its first ACTIVATION event.
activation_events AS (
    SELECT user_pseudo, uai, min((occurred_at AT TIME ZONE 'Europe/Paris')::DATE) AS activated_on
    FROM events WHERE event_type = 'ACTIVATION' GROUP BY ALL
),
loaded AS (
    SELECT p.period_type, p.period, a.uai, a.profile,
           count(*) AS loaded,
           count(*) FILTER (WHERE coalesce(a.activated_at, ae.activated_on) <= p.period_end) AS activated
    FROM accounts a
    LEFT JOIN activation_events ae USING (user_pseudo, uai)
    JOIN recent_periods p ON coalesce(a.created_at, p.period_start) <= p.period_end
    GROUP BY ALL
),
event_schools AS (
    SELECT l.period_type, l.period, l.uai, l.profile, 'events' AS source,
           l.loaded, l.activated,
           coalesce(x.active, 0) AS active, coalesce(x.sessions, 0) AS sessions,
           coalesce(x.mobile_sessions, 0) AS mobile_sessions, coalesce(x.services_used, 0) AS services_used,
           coalesce(x.active_without_account, 0) AS active_without_account,
           coalesce(t.sessions_by_hour, list_transform(range(24), lambda i: 0)) AS sessions_by_hour,
           coalesce(t.sessions_by_weekday, list_transform(range(7), lambda i: 0)) AS sessions_by_weekday,
           NULL::VARCHAR AS missing_reason
    FROM loaded l
    LEFT JOIN activity x USING (period_type, period, uai, profile)
    LEFT JOIN timing t USING (period_type, period, uai, profile)
),
-- Schools known only through ODE statistics exports (aggregated: no user, service, channel or time).
-- The export's granularity (day, week or month) is read from its dates; unique visitors are not
-- additive, so the active rate is known only for periods of exactly that granularity.
ode_only AS (
    SELECT o.* FROM ode_statistics o
    ANTI JOIN (SELECT DISTINCT uai, profile FROM accounts) a ON a.uai = o.uai AND a.profile = o.profile
),
ode_granularity AS (
    SELECT uai, profile,
        CASE WHEN bool_and(day(stat_date) = 1) AND coalesce(min(gap), 28) >= 28 THEN 'month'
             WHEN bool_and(isodow(stat_date) = 1) AND coalesce(min(gap), 7) >= 7 THEN 'week'
             ELSE 'day' END AS granularity
    FROM (SELECT uai, profile, stat_date,
                 stat_date - lag(stat_date) OVER (PARTITION BY uai, profile ORDER BY stat_date) AS gap
          FROM ode_only)
    GROUP BY ALL
),
ode_schools AS (
    SELECT p.period_type, p.period, o.uai, o.profile, 'ode_statistics' AS source,
           arg_max(o.accounts_loaded, o.stat_date) AS loaded,
           arg_max(o.accounts_activated, o.stat_date) AS activated,
           CASE WHEN any_value(g.granularity) = p.period_type AND count(*) = 1 THEN any_value(o.unique_visitors) END AS active,
           sum(o.connexions) AS sessions,
           NULL::BIGINT AS mobile_sessions, NULL::BIGINT AS services_used, 0 AS active_without_account,
           NULL::BIGINT[] AS sessions_by_hour, NULL::BIGINT[] AS sessions_by_weekday,
           CASE WHEN any_value(g.granularity) = p.period_type AND count(*) = 1
                THEN 'ODE statistics export: no per-service, channel or time-of-day detail'
                ELSE 'ODE statistics export by ' || any_value(g.granularity)
                     || ': unique visitors are not additive over a ' || p.period_type
                     || '; no per-service, channel or time-of-day detail'
           END AS missing_reason
    FROM ode_only o
    JOIN ode_granularity g USING (uai, profile)
    JOIN recent_periods p ON o.stat_date BETWEEN p.period_start AND p.period_end
    -- a monthly or weekly row only speaks for periods that contain its whole month or week
    WHERE g.granularity = 'day' OR p.period_type NOT IN ('week', 'month') OR p.period_type = g.granularity
       OR (g.granularity = 'week' AND p.period_type = 'month' AND o.stat_date + 6 <= p.period_end)
    GROUP BY p.period_type, p.period, o.uai, o.profile
)
SELECT
    *,
    activated / nullif(loaded, 0) AS activation_rate,
    active / nullif(loaded, 0) AS active_rate,
    sessions / nullif(active, 0) AS visits_per_active,
    services_used / nullif(active, 0) AS breadth,
    mobile_sessions / nullif(sessions, 0) AS mobile_share
FROM (SELECT * FROM event_schools UNION ALL BY NAME SELECT * FROM ode_schools)
