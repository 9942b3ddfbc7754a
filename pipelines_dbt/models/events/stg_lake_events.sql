{#- The lake's events with their Europe/Paris wall-clock time. -#}
{{ config(materialized='ephemeral') }}

select
    event_id, occurred_at, week_start, uai, user_pseudo, profile, service, event_type, channel,
    {{ paris_local_time('occurred_at') }} as local_at
from {{ source("lake", "events") }}
