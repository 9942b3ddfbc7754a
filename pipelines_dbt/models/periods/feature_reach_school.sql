{#- Feature reach per school × period × profile × service, for the periods that start on or after the
    var from_day: the share of active (loaded) accounts that used the service at least once in the
    period; 1 − reach is what families ignore. Services and their bits come from the services seed
    (connexion aside). Docs: docs/scale/dbt_engines.md, section 3. -#}
{{ config(tags=['periods'], pre_hook="{{ delete_run_periods() }}") }}

with recent_periods as (
    select period_type, period, period_start, period_end
    from {{ source('lake', 'periods') }}
    where period_start >= cast('{{ var("from_day") }}' as date)
),

-- The services each loaded account used per day, then per period (a day belongs to one period of each type).
user_days as (
    select s.uai, s.profile, s.user_pseudo, cast({{ paris_local_time('s.started_at') }} as date) as day,
           bit_or(s.services_mask) as services_mask
    from {{ ref('sessions') }} s
    where {{ paris_local_time('s.started_at') }} >= {{ local_timestamp(var('from_day') ~ ' 00:00:00') }}
      and exists (
        select 1 from {{ source('lake', 'accounts') }} a
        where {{ warehouse_pseudonym('a.user_pseudo') }} = s.user_pseudo and a.uai = s.uai and a.profile = s.profile)
    group by s.uai, s.profile, s.user_pseudo, cast({{ paris_local_time('s.started_at') }} as date)
),

user_masks as (
    select p.period_type, p.period, d.uai, d.profile, d.user_pseudo, bit_or(d.services_mask) as services_mask
    from user_days d
    join {{ ref('period_days') }} p on p.day = d.day
    group by p.period_type, p.period, d.uai, d.profile, d.user_pseudo
),

users as (
    select m.period_type, m.period, m.uai, m.profile, sv.service, count(*) as users
    from user_masks m
    join {{ ref('services') }} sv on (m.services_mask & {{ bit_flag('sv.code') }}) <> 0
    group by m.period_type, m.period, m.uai, m.profile, sv.service
)

select a.period_type, a.period, a.uai, a.profile, sv.service,
       cast(coalesce(u.users, 0) as bigint) as users,
       a.active,
       cast(coalesce(u.users, 0) as double) / a.active as reach
from {{ ref('adoption_school') }} a
cross join {{ ref('services') }} sv
left join users u
    on u.period_type = a.period_type and u.period = a.period and u.uai = a.uai
   and u.profile = a.profile and u.service = sv.service
where a.source = 'events' and a.active > 0 and sv.service not in ('connexion')
  and a.period_type in (select distinct period_type from recent_periods)
  and a.period in (select period from recent_periods)
