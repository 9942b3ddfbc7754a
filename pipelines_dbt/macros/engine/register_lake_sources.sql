{#- Make every table of the 'lake' source that the run reads readable under its source name (on-run-start).
    DuckDB needs nothing: dbt-duckdb renders the source's external_location (read_parquet) in the models
    that read it. Spark gets a view lake.<table> over the Parquet folder or file (meta.location),
    recreated at each run so that it lists the files written since; partition discovery gives
    week_start as a DATE. Only the sources the selected nodes read (directly or through ephemeral
    models) are registered: Spark checks the path when it creates the view, so a run of the weekly
    models does not need the dimension files the period models read. -#}

{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'observatoire')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
        {%- set needed = lake_sources_read_by(selected_resources) -%}
        {%- for node in graph.sources.values() if node.source_name == 'lake' and node.unique_id in needed -%}
            {%- do run_query('create database if not exists ' ~ node.schema) -%}
            {%- do run_query('create or replace view ' ~ node.schema ~ '.' ~ node.identifier
                             ~ ' as select * from parquet.`' ~ node.meta.location ~ '`') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- The unique ids of the sources that the nodes `unique_ids` depend on, directly or through ephemeral
    models (which are compiled into their callers, so their sources are read by them). -#}
{% macro lake_sources_read_by(unique_ids) -%}
    {%- set queue = unique_ids | list -%}
    {%- set seen = [] -%}
    {%- set sources = [] -%}
    {#- the loop also visits the ephemeral models appended to the queue while it runs -#}
    {%- for unique_id in queue if unique_id not in seen -%}
        {%- do seen.append(unique_id) -%}
        {%- for dependency in graph.nodes.get(unique_id, {}).get('depends_on', {}).get('nodes', []) -%}
            {%- if dependency.startswith('source.') -%}
                {%- do sources.append(dependency) -%}
            {%- elif graph.nodes.get(dependency, {}).get('config', {}).get('materialized') == 'ephemeral' -%}
                {%- do queue.append(dependency) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(sources) }}
{%- endmacro %}
