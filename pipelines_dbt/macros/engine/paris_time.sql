{#- Europe/Paris (or another zone's) wall-clock time (daylight saving included) of UTC instants, and
    local timestamp literals. A "local" value is a timestamp without time zone: DuckDB TIMESTAMP, Spark TIMESTAMP_NTZ. -#}

{% macro paris_local_time(instant) -%}
    {{ local_time(instant, "'Europe/Paris'") }}
{%- endmacro %}


{#- The wall-clock time of UTC instants in the IANA zone `zone` (a SQL string expression: a literal such
    as "'Indian/Reunion'" or a column, e.g. the schools dimension's time_zone). -#}
{% macro local_time(instant, zone) -%}
    {{ return(adapter.dispatch('local_time', 'observatoire')(instant, zone)) }}
{%- endmacro %}

{% macro duckdb__local_time(instant, zone) -%}
    timezone({{ zone }}, {{ instant }})
{%- endmacro %}

{#- Spark TIMESTAMP is an instant shown in the session time zone; the cast to TIMESTAMP_NTZ takes that
    wall clock, which is UTC because assert_engine_settings requires it, then convert_timezone moves it
    to the zone. -#}
{% macro spark__local_time(instant, zone) -%}
    convert_timezone('UTC', {{ zone }}, cast({{ instant }} as timestamp_ntz))
{%- endmacro %}


{#- A local timestamp literal, 'YYYY-MM-DD HH:MM:SS'. -#}
{% macro local_timestamp(literal) -%}
    {{ return(adapter.dispatch('local_timestamp', 'observatoire')(literal)) }}
{%- endmacro %}

{% macro duckdb__local_timestamp(literal) -%}
    cast('{{ literal }}' as timestamp)
{%- endmacro %}

{% macro spark__local_timestamp(literal) -%}
    cast('{{ literal }}' as timestamp_ntz)
{%- endmacro %}
