-- Feature reach per school × period × profile × service: the share of active (loaded) accounts that
-- used the service at least once in the period; 1 − reach is what families ignore.
WITH
recent_periods AS (SELECT * FROM periods WHERE period_start >= $from_day),
user_masks AS (
    SELECT p.period_type, p.period, s.uai, s.profile, s.user_pseudo, bit_or(s.services_mask) AS services_mask
    FROM sessions s
    JOIN recent_periods p ON (s.started_at AT TIME ZONE 'Europe/Paris')::DATE BETWEEN p.period_start AND p.period_end
    SEMI JOIN accounts a ON a.user_pseudo = s.user_pseudo AND a.uai = s.uai AND a.profile = s.profile
    GROUP BY ALL
),
services AS (
    SELECT unnest(enum_range(NULL::service_t))::service_t AS service_enum, service_enum::VARCHAR AS service
),
users AS (
    SELECT m.period_type, m.period, m.uai, m.profile, sv.service, count(*) AS users
    FROM user_masks m JOIN services sv ON m.services_mask & (1::INTEGER << enum_code(sv.service_enum)::INTEGER) <> 0
    GROUP BY ALL
)
SELECT a.period_type, a.period, a.uai, a.profile, sv.service, coalesce(u.users, 0) AS users, a.active,
       coalesce(u.users, 0) / a.active AS reach
FROM adoption_school a
CROSS JOIN services sv
LEFT JOIN users u ON u.period_type = a.period_type AND u.period = a.period AND u.uai = a.uai
                 AND u.profile = a.profile AND u.service = sv.service
WHERE a.source = 'events' AND a.active > 0 AND sv.service NOT IN ('connexion')
  AND a.period_type IN (SELECT DISTINCT period_type FROM recent_periods)
  AND a.period IN (SELECT period FROM recent_periods)
