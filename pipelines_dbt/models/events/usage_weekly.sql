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

-- Visits and distinct accounts per grouping, from one row per account and finest cell: each coarser
-- level counts the rows of the level below regrouped per account (no count(distinct) over every event,
-- which the engines run as one pass over the events per grouping set). Events whose service is unknown
-- (NULL: not in the services seed) count in the service = 'all' rows only.
per_account as (
    select uai, week_start, profile, service, channel, user_pseudo, count(*) as events
    from window_events
    group by uai, week_start, profile, service, channel, user_pseudo
),

per_account_service as (
    select uai, week_start, profile, service, user_pseudo, sum(events) as events
    from per_account
    where service is not null
    group by uai, week_start, profile, service, user_pseudo
),

per_account_channel as (
    select uai, week_start, profile, channel, user_pseudo, sum(events) as events
    from per_account
    group by uai, week_start, profile, channel, user_pseudo
),

per_account_week as (
    select uai, week_start, profile, user_pseudo, sum(events) as events
    from per_account_channel
    group by uai, week_start, profile, user_pseudo
),

event_counts as (
    select uai, week_start, profile, service, channel, sum(events) as events, count(*) as accounts
    from per_account
    where service is not null
    group by uai, week_start, profile, service, channel
    union all
    select uai, week_start, profile, service, 'all' as channel, sum(events) as events, count(*) as accounts
    from per_account_service
    group by uai, week_start, profile, service
    union all
    select uai, week_start, profile, 'all' as service, channel, sum(events) as events, count(*) as accounts
    from per_account_channel
    group by uai, week_start, profile, channel
    union all
    select uai, week_start, profile, 'all' as service, 'all' as channel, sum(events) as events, count(*) as accounts
    from per_account_week
    group by uai, week_start, profile
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
