{#- ISO 8601 calendar of a local timestamp: the week label 'YYYY-Www' (the year is the ISO week-based
    year, so 2024-12-30 is 2025-W01 and 2027-01-01 is 2026-W53) and the weekday, Monday = 1 ... Sunday = 7. -#}

{% macro iso_week_label(local_ts) -%}
    {{ return(adapter.dispatch('iso_week_label', 'observatoire')(local_ts)) }}
{%- endmacro %}

{% macro duckdb__iso_week_label(local_ts) -%}
    strftime({{ local_ts }}, '%G-W%V')
{%- endmacro %}

{% macro spark__iso_week_label(local_ts) -%}
    concat(cast(extract(YEAROFWEEK FROM {{ local_ts }}) as string), '-W',
           lpad(cast(weekofyear({{ local_ts }}) as string), 2, '0'))
{%- endmacro %}


{% macro iso_weekday(local_ts) -%}
    {{ return(adapter.dispatch('iso_weekday', 'observatoire')(local_ts)) }}
{%- endmacro %}

{% macro duckdb__iso_weekday(local_ts) -%}
    isodow({{ local_ts }})
{%- endmacro %}

{% macro spark__iso_weekday(local_ts) -%}
    extract(DAYOFWEEK_ISO FROM {{ local_ts }})
{%- endmacro %}
