{#- Adoption per school × period × profile (every period type), for the periods that start on or after
    the var from_day (older periods keep their figures once raw events are purged: the caller replaces
    only those periods). Event-based figures count only loaded accounts (an account of the school's
    snapshot); sessions of users missing from every snapshot are counted apart (active_without_account),
    as a data-quality figure. Schools known only through ODE statistics exports get rows of their own
    (source = 'ode_statistics'), with what those aggregates can say. The hour and weekday profiles
    count in the school's local time (hour_local / weekday_local of sessions); periods stay Europe/Paris
    days (docs/equity_fit_guards.md, section 6; docs/scale/dbt_engines.md, section 3). -#}
{{ config(tags=['periods'], pre_hook="{{ delete_run_periods() }}") }}
{%- set from_day = var('from_day') -%}
{#- The session counts per local hour 0..23 and per local ISO weekday 1..7, as list items (sums of the
    per-day counts of session_hours). -#}
{%- set hour_counts = [] -%}
{%- for h in range(24) -%}{%- do hour_counts.append('cast(coalesce(sum(sessions) filter (where hour_local = ' ~ h ~ '), 0) as bigint)') -%}{%- endfor -%}
{%- set weekday_counts = [] -%}
{%- for d in range(1, 8) -%}{%- do weekday_counts.append('cast(coalesce(sum(sessions) filter (where weekday_local = ' ~ d ~ '), 0) as bigint)') -%}{%- endfor %}

with recent_periods as (
    select period_type, period, period_start, period_end
    from {{ source('lake', 'periods') }}
    where period_start >= cast('{{ from_day }}' as date)
),

session_days as (
    select uai, user_pseudo, profile, channel, services_mask, hour_local, weekday_local,
           cast({{ paris_local_time('started_at') }} as date) as day
    from {{ ref('sessions') }}
    where {{ paris_local_time('started_at') }} >= {{ local_timestamp(from_day ~ ' 00:00:00') }}
),

-- Sessions are counted per account and day first, then per period: a day is in one period of each
-- type, so each period sums a few day rows (an equality join on period_days, not a range join).
user_days as (
    select uai, user_pseudo, profile, day,
           count(*) as sessions,
           count(*) filter (where channel = 'mobile_app') as mobile_sessions,
           bit_or(services_mask) as services_mask
    from session_days
    group by uai, user_pseudo, profile, day
),

user_periods as (
    select p.period_type, p.period, u.uai, u.user_pseudo, u.profile,
           sum(u.sessions) as sessions,
           sum(u.mobile_sessions) as mobile_sessions,
           cast(bit_count(bit_or(u.services_mask)) as bigint) as distinct_services
    from user_days u
    join {{ ref('period_days') }} p on p.day = u.day
    group by p.period_type, p.period, u.uai, u.user_pseudo, u.profile
),

activity as (
    select u.period_type, u.period, u.uai, u.profile,
           count(*) filter (where a.user_pseudo is not null) as active,
           sum(u.sessions) filter (where a.user_pseudo is not null) as sessions,
           sum(u.mobile_sessions) filter (where a.user_pseudo is not null) as mobile_sessions,
           sum(u.distinct_services) filter (where a.user_pseudo is not null) as services_used,
           count(*) filter (where a.user_pseudo is null) as active_without_account
    from user_periods u
    left join {{ source('lake', 'accounts') }} a
        on {{ warehouse_pseudonym('a.user_pseudo') }} = u.user_pseudo and a.uai = u.uai and a.profile = u.profile
    group by u.period_type, u.period, u.uai, u.profile
),

-- Sessions of loaded accounts by local hour (0-23) and local ISO weekday (Monday first).
session_hours as (
    select uai, profile, day, hour_local, weekday_local, count(*) as sessions
    from session_days sd
    where exists (
        select 1 from {{ source('lake', 'accounts') }} a
        where {{ warehouse_pseudonym('a.user_pseudo') }} = sd.user_pseudo and a.uai = sd.uai and a.profile = sd.profile)
    group by uai, profile, day, hour_local, weekday_local
),

timing as (
    select p.period_type, p.period, h.uai, h.profile,
           {{ make_list(hour_counts) }} as sessions_by_hour,
           {{ make_list(weekday_counts) }} as sessions_by_weekday
    from session_hours h
    join {{ ref('period_days') }} p on p.day = h.day
    group by p.period_type, p.period, h.uai, h.profile
),

-- An account whose snapshot has no activation date is activated on the day of its first ACTIVATION event.
activation_events as (
    select user_pseudo, uai, min(cast({{ paris_local_time('occurred_at') }} as date)) as activated_on
    from {{ source('lake', 'events') }}
    where event_type = 'ACTIVATION'
    group by user_pseudo, uai
),

loaded as (
    select p.period_type, p.period, a.uai, a.profile,
           count(*) as loaded,
           count(*) filter (where coalesce(a.activated_at, ae.activated_on) <= p.period_end) as activated
    from {{ source('lake', 'accounts') }} a
    left join activation_events ae on ae.user_pseudo = a.user_pseudo and ae.uai = a.uai
    join recent_periods p on coalesce(a.created_at, p.period_start) <= p.period_end
    group by p.period_type, p.period, a.uai, a.profile
),

event_schools as (
    select l.period_type, l.period, l.uai, l.profile, 'events' as source,
           l.loaded, l.activated,
           coalesce(x.active, 0) as active, coalesce(x.sessions, 0) as sessions,
           coalesce(x.mobile_sessions, 0) as mobile_sessions, coalesce(x.services_used, 0) as services_used,
           coalesce(x.active_without_account, 0) as active_without_account,
           coalesce(t.sessions_by_hour, {{ zeros_list(24) }}) as sessions_by_hour,
           coalesce(t.sessions_by_weekday, {{ zeros_list(7) }}) as sessions_by_weekday,
           cast(null as string) as missing_reason
    from loaded l
    left join activity x
        on x.period_type = l.period_type and x.period = l.period and x.uai = l.uai and x.profile = l.profile
    left join timing t
        on t.period_type = l.period_type and t.period = l.period and t.uai = l.uai and t.profile = l.profile
),

-- Schools known only through ODE statistics exports (aggregated: no user, service, channel or time).
-- The export's granularity (day, week or month) is read from its dates; unique visitors are not
-- additive, so the active rate is known only for periods of exactly that granularity.
ode_only as (
    select o.uai, o.stat_date, o.profile, o.connexions, o.unique_visitors, o.accounts_loaded, o.accounts_activated
    from {{ source('lake', 'ode_statistics') }} o
    where not exists (
        select 1 from {{ source('lake', 'accounts') }} a where a.uai = o.uai and a.profile = o.profile)
),

ode_dates as (
    select uai, profile, stat_date,
           lag(stat_date) over (partition by uai, profile order by stat_date) as previous_date
    from ode_only
),

ode_granularity as (
    select uai, profile,
        case when bool_and(dayofmonth(stat_date) = 1) and coalesce(min(gap), 28) >= 28 then 'month'
             when bool_and({{ iso_weekday('stat_date') }} = 1) and coalesce(min(gap), 7) >= 7 then 'week'
             else 'day' end as granularity
    from (
        select uai, profile, stat_date, {{ dbt.datediff('previous_date', 'stat_date', 'day') }} as gap
        from ode_dates
    ) gaps
    group by uai, profile
),

ode_schools as (
    select p.period_type, p.period, o.uai, o.profile, 'ode_statistics' as source,
           -- the latest count given: DuckDB's max_by (arg_max) skips NULL values, Spark's does not, so
           -- rows without a count get no date
           max_by(o.accounts_loaded, case when o.accounts_loaded is not null then o.stat_date end) as loaded,
           max_by(o.accounts_activated, case when o.accounts_activated is not null then o.stat_date end) as activated,
           case when any_value(g.granularity) = p.period_type and count(*) = 1
                then any_value(o.unique_visitors) end as active,
           sum(o.connexions) as sessions,
           cast(null as bigint) as mobile_sessions, cast(null as bigint) as services_used,
           0 as active_without_account,
           {{ null_list('bigint') }} as sessions_by_hour, {{ null_list('bigint') }} as sessions_by_weekday,
           case when any_value(g.granularity) = p.period_type and count(*) = 1
                then 'ODE statistics export: no per-service, channel or time-of-day detail'
                else 'ODE statistics export by ' || any_value(g.granularity)
                     || ': unique visitors are not additive over a ' || p.period_type
                     || '; no per-service, channel or time-of-day detail'
           end as missing_reason
    from ode_only o
    join ode_granularity g on g.uai = o.uai and g.profile = o.profile
    join recent_periods p on o.stat_date between p.period_start and p.period_end
    -- a monthly or weekly row only speaks for periods that contain its whole month or week
    where g.granularity = 'day' or p.period_type not in ('week', 'month') or p.period_type = g.granularity
       or (g.granularity = 'week' and p.period_type = 'month'
           and {{ dbt.datediff('o.stat_date', 'p.period_end', 'day') }} >= 6)
    group by p.period_type, p.period, o.uai, o.profile
),

both_sources as (
    {%- set columns = ['period_type', 'period', 'uai', 'profile', 'source', 'loaded', 'activated', 'active',
                       'sessions', 'mobile_sessions', 'services_used', 'active_without_account',
                       'sessions_by_hour', 'sessions_by_weekday', 'missing_reason'] %}
    select {{ columns | join(', ') }} from event_schools
    union all
    select {{ columns | join(', ') }} from ode_schools
)

select
    period_type, period, uai, profile, source,
    cast(loaded as bigint) as loaded,
    cast(activated as bigint) as activated,
    cast(active as bigint) as active,
    cast(sessions as bigint) as sessions,
    cast(mobile_sessions as bigint) as mobile_sessions,
    cast(services_used as bigint) as services_used,
    cast(active_without_account as bigint) as active_without_account,
    sessions_by_hour,
    sessions_by_weekday,
    missing_reason,
    cast(activated as double) / nullif(loaded, 0) as activation_rate,
    cast(active as double) / nullif(loaded, 0) as active_rate,
    cast(sessions as double) / nullif(active, 0) as visits_per_active,
    cast(services_used as double) / nullif(active, 0) as breadth,
    cast(mobile_sessions as double) / nullif(sessions, 0) as mobile_share
from both_sources
