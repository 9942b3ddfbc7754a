{#- Sessions of the weeks [first_week, last_week], from visits only (the event types of the var
    visit_event_types, passed by the caller from pipelines.formats.entcore.VISIT_EVENT_TYPES): a session
    starts at a LOGIN, at a visit 30 minutes or more after the account's previous visit, or when the account moves to another school. A session
    belongs to the week (Europe/Paris) where it starts; 30 minutes of the previous week are read so that
    a session running across midnight on Sunday is not cut in two. The services a session used
    (connexion aside) are kept as a bit mask: bit i set = the service of code i in the services seed.
    Events of one account at the same instant are ordered by event_id, so every engine numbers the
    sessions alike. hour_paris / weekday_paris read the start in Europe/Paris, hour_local / weekday_local
    in the zone of the school's académie (the schools dimension's time_zone); week_start and iso_week
    stay Europe/Paris weeks, the partitions (docs/equity_fit_guards.md, section 6). -#}
{%- set day = modules.datetime.date -%}
{%- set first_week = day.fromisoformat(var('first_week')) -%}
{%- set last_week = day.fromisoformat(var('last_week')) -%}
{%- set previous_week = first_week - modules.datetime.timedelta(days=7) -%}
{%- set lookback_from = modules.datetime.datetime.combine(first_week, modules.datetime.time()) - modules.datetime.timedelta(minutes=30) %}

-- Only what the session needs goes through the two windows (each sorts every event with its columns):
-- the login flag and the service bit are computed before them (docs/scale/dbt_engines.md, "Sessions and weekly usage").
with window_events as (
    select e.user_pseudo, e.occurred_at, e.event_id, e.uai, e.profile, e.channel, e.local_at,
           upper(e.event_type) = 'LOGIN' as is_login,
           case when e.service <> 'connexion' then {{ bit_flag('s.code') }} end as service_bit
    from {{ ref('stg_lake_events') }} e
    left join {{ ref('services') }} s on s.service = e.service
    where e.week_start between cast('{{ previous_week }}' as date) and cast('{{ last_week }}' as date)
      and e.local_at >= {{ local_timestamp(lookback_from) }}
      and e.event_type in ({{ quoted_list(var('visit_event_types')) }})
),

flagged as (
    select *,
        case when is_login
                  or lag(occurred_at) over w is null
                  or occurred_at >= lag(occurred_at) over w + interval '30' minute
                  or uai <> lag(uai) over w
             then 1 else 0 end as is_start
    from window_events
    window w as (partition by user_pseudo order by occurred_at, event_id)
),

numbered as (
    select *,
        sum(is_start) over (partition by user_pseudo order by occurred_at, event_id
                            rows between unbounded preceding and current row) as session_no
    from flagged
),

grouped as (
    -- The first event of a session is its only one with is_start = 1.
    select
        user_pseudo,
        session_no,
        max(case when is_start = 1 then uai end) as uai,
        max(case when is_start = 1 then profile end) as profile,
        max(case when is_start = 1 then channel end) as channel,
        min(occurred_at) as started_at,
        -- not min(local_at): when clocks go back in October, local time runs backwards for an hour
        max(case when is_start = 1 then local_at end) as started_local_at,
        count(*) as events,
        coalesce(bit_or(service_bit), 0) as services_mask
    from numbered
    group by user_pseudo, session_no
),

-- The start in the school's own zone as well (its académie's, from the schools dimension; Europe/Paris
-- for a school missing from it): hour and weekday profiles of overseas schools read in local time.
school_dated as (
    select g.*,
           {{ local_time('g.started_at', "coalesce(sc.time_zone, 'Europe/Paris')") }} as started_school_local_at
    from grouped g
    left join {{ source('lake', 'schools') }} sc on sc.uai = g.uai
    where g.started_local_at >= {{ local_timestamp(first_week ~ ' 00:00:00') }}
)

select
    uai,
    {{ warehouse_pseudonym('user_pseudo') }} as user_pseudo,
    profile,
    cast({{ dbt.date_trunc('week', 'started_local_at') }} as date) as week_start,
    {{ iso_week_label('started_local_at') }} as iso_week,
    started_at,
    channel,
    cast(events as bigint) as events,
    cast(services_mask as integer) as services_mask,
    cast(hour(started_local_at) as integer) as hour_paris,
    cast({{ iso_weekday('started_local_at') }} as integer) as weekday_paris,
    cast(hour(started_school_local_at) as integer) as hour_local,
    cast({{ iso_weekday('started_school_local_at') }} as integer) as weekday_local
from school_dated
