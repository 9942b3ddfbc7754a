{#- days_between(first, last): one row per day from the date `first` to the date `last` (both included),
    as a set-returning expression of a select list (DuckDB unnest(generate_series), Spark explode(sequence)). -#}

{% macro days_between(first, last) -%}
    {{ return(adapter.dispatch('days_between', 'observatoire')(first, last)) }}
{%- endmacro %}

{% macro duckdb__days_between(first, last) -%}
    cast(unnest(generate_series(cast({{ first }} as timestamp), cast({{ last }} as timestamp), interval 1 day)) as date)
{%- endmacro %}

{% macro spark__days_between(first, last) -%}
    explode(sequence(cast({{ first }} as date), cast({{ last }} as date), interval 1 day))
{%- endmacro %}
