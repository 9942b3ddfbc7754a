{#- Probable data gaps, for the weeks [first_week, last_week]: school-weeks whose event volume fell more
    than 80 % below what the school should have had that week. The expected volume is the school's own
    median week scaled by the académie's volume that week relative to its median, so school holidays
    and summer, which empty every school of the académie at once, lower the expectation instead of
    raising flags. Only weeks where at least the var data_gaps_min_median events were expected are
    judged: below that, a week 80 % short is a few sessions short, which chance gives every so often
    (docs/scale/dbt_engines.md, section 3, "Why data_gaps judges 50 expected events and more"). Every
    event counts (all event types), over the lake's whole history (the medians need it). An académie
    whose median week is empty sets no expectation (the warehouse's former SQL divided by zero there:
    docs/scale/dbt_engines.md, section 3). -#}
{{ config(tags=['weekly'], pre_hook="{{ delete_run_weeks() }}") }}

with weekly as (
    select uai, week_start, count(*) as n
    from {{ source('lake', 'events') }}
    group by uai, week_start
),

span as (
    select uai, min(week_start) as first_week, max(week_start) as last_week from weekly group by uai
),

filled as (
    select g.uai, g.week_start, coalesce(w.n, 0) as n, s.academie_code
    from (
        select span.uai, weeks.week_start
        from span
        join (select distinct week_start from weekly) weeks
            on weeks.week_start between span.first_week and span.last_week
    ) g
    left join weekly w on w.uai = g.uai and w.week_start = g.week_start
    join {{ source('lake', 'schools') }} s on s.uai = g.uai
),

academie_weeks as (
    select academie_code, week_start, sum(n) as n from filled group by academie_code, week_start
),

-- The académie's median week, as a grouped median rather than a window one (the same on every engine).
academie_median as (
    select academie_code, median(n) as median_n from academie_weeks group by academie_code
),

academie_ratio as (
    select w.academie_code, w.week_start, w.n / nullif(m.median_n, 0) as academie_ratio
    from academie_weeks w
    join academie_median m on m.academie_code = w.academie_code
),

school_median as (
    select uai, median(n) as median_events from filled group by uai
)

select f.uai, f.week_start,
       cast(f.n as bigint) as events,
       cast(m.median_events as double) as median_events,
       f.n / nullif(m.median_events, 0) as school_ratio,
       cast(a.academie_ratio as double) as academie_ratio
from filled f
join school_median m on m.uai = f.uai
join academie_ratio a on a.academie_code = f.academie_code and a.week_start = f.week_start
where f.week_start between cast('{{ var("first_week") }}' as date) and cast('{{ var("last_week") }}' as date)
  and m.median_events * a.academie_ratio >= {{ var('data_gaps_min_median') }}
  and f.n < 0.2 * m.median_events * a.academie_ratio
