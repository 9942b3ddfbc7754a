-- Usage per school × ISO week × profile × service × channel, for the weeks [$first_week, $last_week]:
-- visits (events that are visits, see VISIT_EVENT_TYPES), sessions that used the service, and distinct accounts. service = 'all' and channel = 'all'
-- rows hold the totals (distinct counts are not additive, so they are counted, not summed).
WITH event_counts AS (
    SELECT
        uai, week_start, profile::VARCHAR AS profile,
        coalesce(service::VARCHAR, 'all') AS service, coalesce(channel::VARCHAR, 'all') AS channel,
        count(*) AS events, count(DISTINCT user_pseudo) AS accounts
    FROM events
    WHERE week_start BETWEEN $first_week AND $last_week AND event_type IN ({visit_event_types})
    GROUP BY GROUPING SETS (
        (uai, week_start, profile, service, channel), (uai, week_start, profile, service),
        (uai, week_start, profile, channel), (uai, week_start, profile))
),
session_services AS (
    SELECT s.uai, s.week_start, s.profile, s.channel, s.user_pseudo, sv.service
    FROM sessions s
    JOIN (SELECT unnest(enum_range(NULL::service_t))::service_t AS service_enum, service_enum::VARCHAR AS service) sv
      ON s.services_mask & (1::INTEGER << enum_code(sv.service_enum)::INTEGER) <> 0
    WHERE s.week_start BETWEEN $first_week AND $last_week
    UNION ALL
    SELECT uai, week_start, profile, channel, user_pseudo, 'connexion' FROM sessions
    WHERE week_start BETWEEN $first_week AND $last_week
),
session_counts AS (
    SELECT uai, week_start, profile::VARCHAR AS profile, service, coalesce(channel::VARCHAR, 'all') AS channel,
           count(*) AS sessions
    FROM session_services
    GROUP BY GROUPING SETS ((uai, week_start, profile, service, channel), (uai, week_start, profile, service))
    UNION ALL
    SELECT uai, week_start, profile::VARCHAR, 'all', coalesce(channel::VARCHAR, 'all'), count(*)
    FROM sessions
    WHERE week_start BETWEEN $first_week AND $last_week
    GROUP BY GROUPING SETS ((uai, week_start, profile, channel), (uai, week_start, profile))
)
SELECT e.uai, e.week_start, e.profile, e.service, e.channel, e.events,
       coalesce(s.sessions, 0) AS sessions, e.accounts
FROM event_counts e
LEFT JOIN session_counts s USING (uai, week_start, profile, service, channel)
