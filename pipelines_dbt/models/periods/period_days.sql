{#- The days of every period that starts on or after the var from_day: one row per period_type × period
    × day (Europe/Paris calendar days). The period models join a session's day to its periods on this
    equality instead of a range join on period_start / period_end (a range join over tens of millions of
    sessions is a nested-loop or inequality join; docs/scale/dbt_engines.md, section 3). -#}
{{ config(materialized='ephemeral') }}

select period_type, period, period_start, period_end, {{ days_between('period_start', 'period_end') }} as day
from {{ source('lake', 'periods') }}
where period_start >= cast('{{ var("from_day") }}' as date)
