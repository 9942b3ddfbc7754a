{#- A pseudonym (16 bytes in the lake) as the engine's warehouse keeps it, for the model outputs that
    the warehouse joins with its own tables (accounts): DuckDB's UHUGEINT (the 128-bit integer of
    pipelines/defs/ingest/pseudonymize.py), Spark's binary unchanged (no 128-bit integer there). -#}

{% macro warehouse_pseudonym(column) -%}
    {{ return(adapter.dispatch('warehouse_pseudonym', 'observatoire')(column)) }}
{%- endmacro %}

{% macro default__warehouse_pseudonym(column) -%}
    {{ column }}
{%- endmacro %}

{% macro duckdb__warehouse_pseudonym(column) -%}
    cast('0x' || hex({{ column }}) as uhugeint)
{%- endmacro %}
