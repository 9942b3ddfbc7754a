{#- Pre-hooks of the incremental models on DuckDB: delete the rows that the run recomputes, in the
    transaction of its insert (dbt-duckdb runs pre-hooks after BEGIN), so that a re-run replaces them,
    never adds to them, and also drops those the new run no longer produces (a data gap filled by a
    late file). Nothing on a first build or a --full-refresh (the model then creates the table), nor on
    a full table (Spark). -#}

{#- The weeks [first_week, last_week] (data_gaps). -#}
{% macro delete_run_weeks() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where week_start between cast('{{ var("first_week") }}' as date) and cast('{{ var("last_week") }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The periods that start on or after from_day (adoption_school, feature_reach_school); older periods
    keep the figures computed while their raw events existed. -#}
{% macro delete_run_periods() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where (period_type, period) in (
            select period_type, period from {{ source('lake', 'periods') }}
            where period_start >= cast('{{ var("from_day") }}' as date))
    {%- endif -%}
{%- endmacro %}
