{#- Usage per school × ISO week × profile × service × channel, for the weeks [first_week, last_week]:
    visits (the event types of the var visit_event_types), sessions that used the service, and distinct accounts. service = 'all' and channel = 'all'
    rows hold the totals (distinct counts are not additive, so they are counted, not summed). -#}

with window_events as (
    select uai, week_start, profile, service, channel, user_pseudo
    from {{ ref('stg_lake_events') }}
    where week_start between cast('{{ var("first_week") }}' as date) and cast('{{ var("last_week") }}' as date)
      and event_type in ({{ quoted_list(var('visit_event_types')) }})
),

window_sessions as (
    select uai, week_start, profile, channel, user_pseudo, services_mask
    from {{ ref('sessions') }}
    where week_start between cast('{{ var("first_week") }}' as date) and cast('{{ var("last_week") }}' as date)
),

event_counts as (
    select
        uai, week_start, profile,
        coalesce(service, 'all') as service, coalesce(channel, 'all') as channel,
        count(*) as events, count(distinct user_pseudo) as accounts
    from window_events
    group by grouping sets (
        (uai, week_start, profile, service, channel), (uai, week_start, profile, service),
        (uai, week_start, profile, channel), (uai, week_start, profile))
),

-- One row per session and service it used; every session counts for connexion.
session_services as (
    select s.uai, s.week_start, s.profile, s.channel, sv.service
    from window_sessions s
    join {{ ref('services') }} sv on (s.services_mask & {{ bit_flag('sv.code') }}) <> 0
    union all
    select uai, week_start, profile, channel, 'connexion' as service
    from window_sessions
),

session_counts as (
    select uai, week_start, profile, service, coalesce(channel, 'all') as channel, count(*) as sessions
    from session_services
    group by grouping sets ((uai, week_start, profile, service, channel), (uai, week_start, profile, service))
    union all
    select uai, week_start, profile, 'all' as service, coalesce(channel, 'all') as channel, count(*) as sessions
    from window_sessions
    group by grouping sets ((uai, week_start, profile, channel), (uai, week_start, profile))
)

select
    e.uai, e.week_start, e.profile, e.service, e.channel,
    cast(e.events as bigint) as events,
    cast(coalesce(s.sessions, 0) as bigint) as sessions,
    cast(e.accounts as bigint) as accounts
from event_counts e
left join session_counts s
    on s.uai = e.uai and s.week_start = e.week_start and s.profile = e.profile
   and s.service = e.service and s.channel = e.channel
