{#- Europe/Paris wall-clock time (daylight saving included) of UTC instants, and local timestamp
    literals. A "local" value is a timestamp without time zone: DuckDB TIMESTAMP, Spark TIMESTAMP_NTZ. -#}

{% macro paris_local_time(instant) -%}
    {{ return(adapter.dispatch('paris_local_time', 'observatoire')(instant)) }}
{%- endmacro %}

{% macro duckdb__paris_local_time(instant) -%}
    ({{ instant }} AT TIME ZONE 'Europe/Paris')
{%- endmacro %}

{#- Spark TIMESTAMP is an instant shown in the session time zone; the cast to TIMESTAMP_NTZ takes that
    wall clock, which is UTC because assert_engine_settings requires it, then convert_timezone moves it
    to Paris. -#}
{% macro spark__paris_local_time(instant) -%}
    convert_timezone('UTC', 'Europe/Paris', cast({{ instant }} as timestamp_ntz))
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
