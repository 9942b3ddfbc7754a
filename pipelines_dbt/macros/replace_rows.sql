{#- Pre-hooks of the incremental models of models/periods/: remove the rows that the run recomputes, so
    that a re-run replaces them, never adds to them, and also drops those the new run no longer produces
    (a data gap filled by a late file). Nothing on a first build or a --full-refresh (the model then
    creates the table). docs/scale/dbt_engines.md, section 4.
    DuckDB: a delete, in the transaction of the insert (dbt-duckdb runs pre-hooks after BEGIN).
    Spark: the recomputed partitions that the table holds are dropped (files and catalog entries), then
    insert_overwrite writes the run's partitions; not atomic (Parquet tables have no transactions), but
    a failed run leaves fewer rows, never stale or doubled ones, and re-running it repairs them. -#}

{#- The weeks [first_week, last_week] (data_gaps, partitioned by week_start on Spark). -#}
{% macro delete_run_weeks() -%}
    {{ return(adapter.dispatch('delete_run_weeks', 'observatoire')()) }}
{%- endmacro %}

{% macro default__delete_run_weeks() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ run_weeks_predicate() }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_run_weeks() -%}
    {%- if is_incremental() and execute -%}
        {{ drop_partitions_holding("select distinct week_start from " ~ this ~ " where " ~ run_weeks_predicate()) }}
    {%- endif -%}
{%- endmacro %}

{% macro run_weeks_predicate() -%}
    week_start between cast('{{ var("first_week") }}' as date) and cast('{{ var("last_week") }}' as date)
{%- endmacro %}

{#- The periods that start on or after from_day (adoption_school, feature_reach_school, partitioned by
    period_type and period on Spark); older periods keep the figures computed while their raw events
    existed. -#}
{% macro delete_run_periods() -%}
    {{ return(adapter.dispatch('delete_run_periods', 'observatoire')()) }}
{%- endmacro %}

{% macro default__delete_run_periods() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} t
        where {{ run_periods_predicate() }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_run_periods() -%}
    {%- if is_incremental() and execute -%}
        {{ drop_partitions_holding("select distinct period_type, period from " ~ this ~ " t where " ~ run_periods_predicate()) }}
    {%- endif -%}
{%- endmacro %}

{% macro run_periods_predicate() -%}
    exists (select 1 from {{ source('lake', 'periods') }} p
            where p.period_type = t.period_type and p.period = t.period
              and p.period_start >= cast('{{ var("from_day") }}' as date))
{%- endmacro %}

{#- Spark: `alter table this drop partition` of every partition value row that `query` returns (its
    columns: the partition columns, in order); nothing when there is none. -#}
{% macro drop_partitions_holding(query) -%}
    {%- set found = run_query(query) -%}
    {%- set specs = [] -%}
    {%- for row in found.rows -%}
        {%- set values = [] -%}
        {%- for column in found.column_names -%}
            {%- do values.append(column ~ " = '" ~ (row[column] | string | replace("'", "''")) ~ "'") -%}
        {%- endfor -%}
        {%- do specs.append('partition (' ~ values | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- if specs -%}
        alter table {{ this }} drop if exists {{ specs | join(', ') }}
    {%- endif -%}
{%- endmacro %}
