{#- Run at the start of every dbt invocation (on-run-start): settings the engine-specific macros rely on. -#}

{% macro assert_engine_settings() -%}
    {{ return(adapter.dispatch('assert_engine_settings', 'observatoire')()) }}
{%- endmacro %}

{% macro default__assert_engine_settings() -%}
    select 1
{%- endmacro %}

{#- spark__paris_local_time reads instants as UTC wall clock: the session time zone must be UTC. -#}
{% macro spark__assert_engine_settings() -%}
    {%- if execute -%}
        {%- set zone = run_query("select current_timezone()").columns[0].values()[0] -%}
        {%- if zone not in ('UTC', 'Etc/UTC', 'Z') -%}
            {{ exceptions.raise_compiler_error("spark.sql.session.timeZone is " ~ zone ~ ": set it to UTC in the profile or the cluster") }}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
