{#- Make every table of the 'lake' source readable under its source name (on-run-start).
    DuckDB needs nothing: dbt-duckdb renders the source's external_location (read_parquet).
    Spark gets a view lake.<table> over the Parquet folder (meta.location), recreated at each run so
    that it lists the files written since; partition discovery gives week_start as a DATE. -#}

{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'observatoire')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.source_name == 'lake' -%}
            {%- do run_query('create database if not exists ' ~ node.schema) -%}
            {%- do run_query('create or replace view ' ~ node.schema ~ '.' ~ node.identifier
                             ~ ' as select * from parquet.`' ~ node.meta.location ~ '`') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
